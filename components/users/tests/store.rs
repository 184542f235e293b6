//! The users store against a real Postgres (a migrated database of the test's own): what each statement
//! returns, the constraint the email's uniqueness maps to, filters and keyset paging, soft deletion.

use kit::identity::Role;
use testkit::TestDb;
use users::store::{self, Changes, ListFilter, NewUser};

fn new_user<'a>(email: &'a str, role: Role) -> NewUser<'a> {
    NewUser { email, full_name: "Ada Lovelace", role, password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA" }
}

#[tokio::test]
async fn an_inserted_user_reads_back_without_its_hash_and_a_second_email_is_the_unique_constraint() {
    let test = TestDb::new("pc_users").await;
    let db = test.db();
    let user = store::insert(&db, &new_user("ada@example.com", Role::Customer)).await.unwrap();
    assert_eq!((user.email.as_str(), user.role, user.active), ("ada@example.com", Role::Customer, true));
    assert_eq!(user.created_at.len(), "2026-11-29T10:00:00.000Z".len(), "{}", user.created_at);
    let id = uuid::Uuid::parse_str(&user.id).unwrap();
    assert_eq!(store::find(&db, id).await.unwrap(), Some(user.clone()));
    assert!(store::password_hash(&db, id).await.unwrap().unwrap().starts_with("$argon2id$"));

    let taken = store::insert(&db, &new_user("ada@example.com", Role::Admin)).await.unwrap_err();
    assert_eq!(taken.constraint(), Some("users_email_key"), "{taken}");
    assert_eq!(store::find(&db, uuid::Uuid::now_v7()).await.unwrap(), None);
}

#[tokio::test]
async fn changes_apply_only_what_is_given_and_a_deleted_user_is_gone_and_inactive() {
    let test = TestDb::new("pc_users").await;
    let db = test.db();
    let user = store::insert(&db, &new_user("grace@example.com", Role::Customer)).await.unwrap();
    let id = uuid::Uuid::parse_str(&user.id).unwrap();
    let changes = Changes { full_name: Some("Grace Hopper".to_owned()), active: Some(false), ..Changes::default() };
    let changed = store::update(&db, id, &changes).await.unwrap().unwrap();
    assert_eq!(
        (changed.full_name.as_str(), changed.email.as_str(), changed.active),
        ("Grace Hopper", "grace@example.com", false)
    );
    assert!(!store::session(&db, id).await.unwrap().unwrap().active);

    assert!(store::delete(&db, id).await.unwrap());
    assert!(!store::delete(&db, id).await.unwrap(), "a second delete finds nothing");
    assert_eq!(store::find(&db, id).await.unwrap(), None);
    assert!(store::update(&db, id, &changes).await.unwrap().is_none());
    // The address is free again for a new account.
    store::insert(&db, &new_user("grace@example.com", Role::Customer)).await.unwrap();
}

#[tokio::test]
async fn the_listing_filters_and_pages_in_creation_order() {
    let test = TestDb::new("pc_users").await;
    let db = test.db();
    let mut ids = Vec::new();
    for (email, role) in
        [("a@shop.test", Role::Customer), ("b@shop.test", Role::Admin), ("c@other.test", Role::Customer)]
    {
        ids.push(store::insert(&db, &new_user(email, role)).await.unwrap().id);
    }
    let all = |filter: ListFilter| {
        let db = db.clone();
        async move { store::list(&db, &filter).await.unwrap().into_iter().map(|user| user.id).collect::<Vec<_>>() }
    };
    assert_eq!(all(ListFilter { limit: 10, ..ListFilter::default() }).await, ids);
    assert_eq!(all(ListFilter { email: Some("shop".into()), limit: 10, ..ListFilter::default() }).await, ids[..2]);
    assert_eq!(all(ListFilter { role: Some(Role::Admin), limit: 10, ..ListFilter::default() }).await, ids[1..2]);
    let after = Some(uuid::Uuid::parse_str(&ids[0]).unwrap());
    assert_eq!(all(ListFilter { after, limit: 1, ..ListFilter::default() }).await, ids[1..2]);
    assert!(all(ListFilter { email: Some("nobody".into()), limit: 10, ..ListFilter::default() }).await.is_empty());
}

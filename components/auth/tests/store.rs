//! The refresh-token store against a real Postgres: a token rotates once, a reused or revoked one never, and
//! revoking a family ends every token in it.

use auth::store;
use testkit::TestDb;

#[tokio::test]
async fn a_token_rotates_once_and_then_reads_as_used() {
    let test = TestDb::new("pc_auth").await;
    let db = test.db();
    let (user, family) = (test.customer().await, uuid::Uuid::now_v7());
    store::insert(&db, family, user, b"first".to_vec(), 60).await.unwrap();
    let first = store::find(&db, b"first".to_vec()).await.unwrap().unwrap();
    assert_eq!((first.user_id, first.family_id.clone()), (user.to_string(), family.to_string()));
    assert!(!first.used && !first.revoked && !first.expired);

    assert!(store::rotate(&db, &first.id, b"second".to_vec(), 60).await.unwrap());
    assert!(!store::rotate(&db, &first.id, b"third".to_vec(), 60).await.unwrap(), "a used token rotates again");
    assert!(store::find(&db, b"first".to_vec()).await.unwrap().unwrap().used);
    let second = store::find(&db, b"second".to_vec()).await.unwrap().unwrap();
    assert_eq!(second.family_id, first.family_id);
    assert_eq!(store::find(&db, b"third".to_vec()).await.unwrap(), None);
}

#[tokio::test]
async fn an_expired_or_revoked_token_never_rotates() {
    let test = TestDb::new("pc_auth").await;
    let db = test.db();
    let (user, family) = (test.customer().await, uuid::Uuid::now_v7());
    store::insert(&db, family, user, b"stale".to_vec(), -1).await.unwrap();
    let stale = store::find(&db, b"stale".to_vec()).await.unwrap().unwrap();
    assert!(stale.expired);
    assert!(!store::rotate(&db, &stale.id, b"next".to_vec(), 60).await.unwrap());

    store::insert(&db, family, user, b"live".to_vec(), 60).await.unwrap();
    assert_eq!(store::revoke_family(&db, &family.to_string()).await.unwrap(), 2);
    assert_eq!(store::revoke_family(&db, &family.to_string()).await.unwrap(), 0, "already revoked");
    let live = store::find(&db, b"live".to_vec()).await.unwrap().unwrap();
    assert!(live.revoked);
    assert!(!store::rotate(&db, &live.id, b"next".to_vec(), 60).await.unwrap());
}

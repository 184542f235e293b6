//! `/categories`: public reads, admin-only writes. Categories form a tree (`parent_id`); a category with
//! products or subcategories cannot be deleted (409), and a parent that would make a cycle is a 422.

use http::StatusCode;
use kit::http::{parse_json, parse_query};
use kit::identity::Identity;
use kit::page::{bad_cursor, Cursor, Limit, Page};
use kit::{FieldError, Fields, Problem, Request, Response};
use serde::Deserialize;

use crate::domain::{parse_id, Name, Slug, CATEGORY_NAME_MAX};
use crate::error::Error;
use crate::store::{CategoryDeletion, CategoryUpdate, CategoryWrite};
use crate::Service;

/// The body of `POST /categories` and `PUT /categories/{id}`. Without a `slug`, one is derived from the
/// name's ASCII letters and digits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryBody {
    name: String,
    #[serde(default)]
    slug: Option<String>,
    #[serde(default)]
    parent_id: Option<String>,
}

impl CategoryBody {
    fn validate(self) -> Result<CategoryWrite, Error> {
        let mut fields = Fields::default();
        let name = fields.check("name", Name::parse(&self.name, CATEGORY_NAME_MAX));
        let slug = match (self.slug.as_deref(), &name) {
            (Some(slug), _) => fields.check("slug", Slug::parse(slug)),
            (None, Some(name)) => fields.check(
                "slug",
                Slug::from_name(name).ok_or_else(|| "cannot be derived from the name; give one".to_owned()),
            ),
            (None, None) => None,
        };
        let parent_id = match self.parent_id.as_deref() {
            None => Some(None),
            Some(text) => {
                fields.check("parent_id", parse_id(text).map(Some).ok_or_else(|| "must be a UUID".to_owned()))
            }
        };
        fields.finish()?;
        match (name, slug, parent_id) {
            (Some(name), Some(slug), Some(parent_id)) => Ok(CategoryWrite { name, slug, parent_id }),
            // Not reachable: a missing value always recorded a field error above.
            _ => Err(Error::Internal("a field was neither valid nor reported".to_owned())),
        }
    }
}

/// The query of `GET /categories`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /categories`.
pub async fn list(service: &Service, request: &Request) -> Result<Response, Error> {
    let query: ListQuery = parse_query(request)?;
    let limit = Limit::parse(query.limit).map_err(Problem::bad_query)?;
    // The key is the last slug of the previous page.
    let after = match Cursor::<String>::decode_opt(query.cursor.as_deref()).map_err(Problem::bad_query)? {
        None => None,
        Some(slug) => Some(Slug::parse(&slug).map_err(|_| Problem::bad_query(bad_cursor(None)))?),
    };
    let categories = service.store.categories(after.as_ref().map(Slug::as_str), limit).await?;
    let page = Page::from_rows(categories, limit, |last| last.slug.clone());
    Ok(service.public_read(request, kit::http::json(StatusCode::OK, &page)))
}

/// `GET /categories/{id}`.
pub async fn get(service: &Service, request: &Request, id: &str) -> Result<Response, Error> {
    let id = parse_id(id).ok_or(Error::NotFound)?;
    let category = service.store.category(id).await?.ok_or(Error::NotFound)?;
    Ok(service.public_read(request, kit::http::json(StatusCode::OK, &category)))
}

/// `POST /categories` (admin).
pub async fn create(service: &Service, request: &Request) -> Result<Response, Error> {
    Identity::require_admin(request.headers())?;
    let write = parse_json::<CategoryBody>(request)?.validate()?;
    let category = service.store.create_category(&write).await?;
    Ok(kit::http::created(&format!("/categories/{}", category.id), &category))
}

/// `PUT /categories/{id}` (admin): replaces name, slug and parent.
pub async fn update(service: &Service, request: &Request, id: &str) -> Result<Response, Error> {
    Identity::require_admin(request.headers())?;
    let id = parse_id(id).ok_or(Error::NotFound)?;
    let write = parse_json::<CategoryBody>(request)?.validate()?;
    match service.store.update_category(id, &write).await? {
        CategoryUpdate::Updated(category) => Ok(kit::http::json(StatusCode::OK, &category)),
        CategoryUpdate::NotFound => Err(Error::NotFound),
        CategoryUpdate::Cycle => Err(Error::Validation(vec![FieldError::new(
            "parent_id",
            "must not be the category itself or one of its subcategories",
        )])),
    }
}

/// `DELETE /categories/{id}` (admin): 204, or 409 while products or subcategories use it.
pub async fn delete(service: &Service, request: &Request, id: &str) -> Result<Response, Error> {
    Identity::require_admin(request.headers())?;
    let id = parse_id(id).ok_or(Error::NotFound)?;
    match service.store.delete_category(id).await? {
        CategoryDeletion::Deleted => Ok(kit::http::empty(StatusCode::NO_CONTENT)),
        CategoryDeletion::NotFound => Err(Error::NotFound),
        CategoryDeletion::InUse => {
            Err(Error::Conflict { detail: "the category still has products or subcategories", field: None })
        }
    }
}

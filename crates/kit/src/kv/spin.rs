//! Spin backend: `wasi:keyvalue@0.2.0-draft2` (store and atomics), which Spin 4 provides and spin-sdk 5.2
//! binds (`spin_sdk::wit`). One interface for both calls, so a request opens its store once.

use spin_sdk::wit::wasi::keyvalue::{atomics, store};

use super::KvError;

/// Spin checks a component's grants itself.
#[derive(Clone)]
pub(super) struct Stores;

impl Stores {
    pub(super) fn open(&self, label: &str) -> Result<Store, KvError> {
        store::open(label).map(|bucket| Store { bucket }).map_err(|error| match error {
            store::Error::NoSuchStore => KvError::NoSuchStore(label.to_owned()),
            store::Error::AccessDenied => KvError::AccessDenied(label.to_owned()),
            store::Error::Other(message) => KvError::Unavailable(message),
        })
    }
}

pub(super) struct Store {
    bucket: store::Bucket,
}

impl Store {
    pub(super) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.bucket.get(key).map_err(map_error)
    }

    pub(super) async fn increment(&self, key: &str) -> Result<i64, KvError> {
        atomics::increment(&self.bucket, key, 1).map_err(map_error)
    }
}

fn map_error(error: store::Error) -> KvError {
    KvError::Unavailable(match error {
        store::Error::Other(message) => message,
        other => format!("{other:?}"),
    })
}

//! The parts of Spin's runtime configuration (`spin up --runtime-config-file`) devhost needs:
//! - the key-value stores, `[key_value_store.<label>]`. devhost backs the two types this app uses: `redis`
//!   with the store's `url`, and `spin` (Spin's own SQLite file) with an empty in-process map. Spin's
//!   `default` store, when the file names none, is such a file too;
//! - the values of its `static` variables providers (`scripts/runtime-config` writes one), which Spin asks
//!   before the environment. Providers of other types (Vault, Azure Key Vault) are Spin's alone: devhost
//!   resolves those variables from the environment.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use serde::Deserialize;

/// The key-value stores of a runtime configuration, by label.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    stores: HashMap<String, StoreConfig>,
    variables: HashMap<String, String>,
}

/// One store's backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// `type = "redis"`: a Redis server.
    Redis {
        /// Its URL.
        url: String,
    },
    /// `type = "spin"`: Spin's own SQLite file (an in-process map here).
    Local,
}

#[derive(Debug, Deserialize)]
struct RawRuntimeConfig {
    #[serde(default)]
    key_value_store: HashMap<String, RawStore>,
    variables_provider: Option<Vec<RawProvider>>,
    config_provider: Option<Vec<RawProvider>>,
}

/// A variables provider; only a `static` one's values matter here.
#[derive(Debug, Deserialize)]
struct RawProvider {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    values: HashMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct RawStore {
    #[serde(rename = "type")]
    kind: String,
    url: Option<String>,
}

impl RuntimeConfig {
    /// Reads the file at `path`.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))?;
        Self::parse(&text)
    }

    /// Parses runtime configuration text; a store of another type, or a Redis store without a URL, is an
    /// error (Spin would refuse it, or devhost cannot back it).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let raw: RawRuntimeConfig = toml::from_str(text)?;
        let mut stores = HashMap::new();
        for (label, store) in raw.key_value_store {
            let config = match (store.kind.as_str(), store.url) {
                ("redis", Some(url)) => StoreConfig::Redis { url },
                ("redis", None) => anyhow::bail!("key_value_store.{label}: a redis store needs a `url`"),
                ("spin", _) => StoreConfig::Local,
                (other, _) => anyhow::bail!("key_value_store.{label}: devhost cannot back stores of type `{other}`"),
            };
            stores.insert(label, config);
        }
        // Spin reads `variables_provider`, or the older `config_provider` when the first is absent; the first
        // provider that knows a variable answers it.
        let mut variables = HashMap::new();
        for provider in raw.variables_provider.or(raw.config_provider).unwrap_or_default() {
            if provider.kind == "static" {
                for (name, value) in provider.values {
                    variables.entry(name).or_insert(value);
                }
            }
        }
        Ok(Self { stores, variables })
    }

    /// The same configuration with the store `label` on the Redis at `url` (tests).
    pub fn with_redis_store(mut self, label: &str, url: &str) -> Self {
        self.stores.insert(label.to_owned(), StoreConfig::Redis { url: url.to_owned() });
        self
    }

    /// The application variables the static providers answer, by name.
    pub fn variables(&self) -> &HashMap<String, String> {
        &self.variables
    }

    /// The backend of `label`: as configured, a local one for an unconfigured `default`, `None` otherwise
    /// (Spin refuses to start an app that names such a store).
    pub fn store(&self, label: &str) -> Option<StoreConfig> {
        match self.stores.get(label) {
            Some(config) => Some(config.clone()),
            None if label == "default" => Some(StoreConfig::Local),
            None => None,
        }
    }
}

/// Local stores are one per label for the whole app, as Spin's file is.
#[derive(Debug, Default)]
pub(crate) struct LocalStores(Mutex<HashMap<String, kit::kv::NativeStore>>);

impl LocalStores {
    pub(crate) fn get(&self, label: &str) -> kit::kv::NativeStore {
        let mut stores = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        stores.entry(label.to_owned()).or_insert_with(kit::kv::NativeStore::memory).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_and_local_stores_are_read_and_default_is_always_there() {
        let config = RuntimeConfig::parse(
            r#"
[key_value_store.default]
type = "redis"
url = "redis://127.0.0.1:6379"
[key_value_store.files]
type = "spin"
path = ".spin/files.db"
"#,
        )
        .unwrap();
        assert_eq!(config.store("default"), Some(StoreConfig::Redis { url: "redis://127.0.0.1:6379".into() }));
        assert_eq!(config.store("files"), Some(StoreConfig::Local));
        assert_eq!(config.store("other"), None);
        assert_eq!(RuntimeConfig::default().store("default"), Some(StoreConfig::Local));
    }

    #[test]
    fn stores_devhost_cannot_back_are_refused() {
        assert!(RuntimeConfig::parse("[key_value_store.default]\ntype = \"redis\"\n").is_err());
        assert!(RuntimeConfig::parse("[key_value_store.x]\ntype = \"azure_cosmos\"\n").is_err());
        assert!(RuntimeConfig::parse("[[config_provider]]\ntype = \"vault\"\n").unwrap().store("x").is_none());
    }

    #[test]
    fn static_providers_answer_in_order_and_others_are_left_to_spin() {
        let config = RuntimeConfig::parse(
            r#"
[[variables_provider]]
type = "vault"
url = "http://127.0.0.1:8200"
[[variables_provider]]
type = "static"
values = { a = "first", b = "b" }
[[variables_provider]]
type = "static"
[variables_provider.values]
a = "second"
c = "line\nbreak"
"#,
        )
        .unwrap();
        let expected: HashMap<String, String> =
            [("a", "first"), ("b", "b"), ("c", "line\nbreak")].map(|(k, v)| (k.to_owned(), v.to_owned())).into();
        assert_eq!(config.variables(), &expected);
        // As in Spin: `config_provider` counts only when `variables_provider` is absent.
        let both = "[[variables_provider]]\ntype = \"static\"\nvalues = { a = \"v\" }\n\
                    [[config_provider]]\ntype = \"static\"\nvalues = { a = \"c\", b = \"c\" }\n";
        let both = RuntimeConfig::parse(both).unwrap();
        assert_eq!(both.variables().get("a").map(String::as_str), Some("v"));
        assert_eq!(both.variables().get("b"), None);
        let old = RuntimeConfig::parse("[[config_provider]]\ntype = \"static\"\nvalues = { b = \"c\" }\n").unwrap();
        assert_eq!(old.variables().get("b").map(String::as_str), Some("c"));
    }
}

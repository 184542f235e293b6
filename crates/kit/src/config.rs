//! Settings lookup, one vocabulary for both hosts.
//!
//! Every setting is a Spin variable named in `spin.toml`. On wasm32 it is read with
//! `spin_sdk::variables::get`; natively devhost resolves the same variables from `spin.toml` (defaults,
//! `SPIN_VARIABLE_<NAME>` overrides, component templates) and hands the result to [`Config::from_map`].
//! [`Config::from_env`] reads `SPIN_VARIABLE_<NAME>` directly, for tools that have no manifest.
//! An empty value counts as unset, so optional settings can default to `""` in the manifest.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

/// A settings error: the component cannot start or serve.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable has no value.
    #[error("variable `{0}` is not set")]
    Missing(String),
    /// A variable's value cannot be used.
    #[error("variable `{name}` is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: String,
        /// Why.
        reason: String,
    },
    /// The host could not answer.
    #[error("variable `{name}` could not be read: {reason}")]
    Host {
        /// The variable.
        name: String,
        /// The host's error.
        reason: String,
    },
}

#[derive(Debug, Clone)]
enum Source {
    #[cfg(target_arch = "wasm32")]
    Spin,
    Map(HashMap<String, String>),
    Env,
}

/// Read access to a component's variables.
#[derive(Debug, Clone)]
pub struct Config {
    source: Source,
}

impl Config {
    /// The variables of the running Spin component.
    #[cfg(target_arch = "wasm32")]
    pub fn spin() -> Self {
        Self { source: Source::Spin }
    }

    /// Variables resolved by the caller (devhost, tests); names are the lowercase Spin names.
    pub fn from_map(values: HashMap<String, String>) -> Self {
        Self { source: Source::Map(values) }
    }

    /// Variables from `SPIN_VARIABLE_<NAME>` environment variables, like Spin's environment provider.
    pub fn from_env() -> Self {
        Self { source: Source::Env }
    }

    /// The value of `name`, or `None` when unset or empty.
    pub fn get(&self, name: &str) -> Result<Option<String>, ConfigError> {
        let value = match &self.source {
            #[cfg(target_arch = "wasm32")]
            Source::Spin => match spin_sdk::variables::get(name) {
                Ok(value) => Some(value),
                Err(spin_sdk::variables::Error::Undefined(_)) => None,
                Err(error) => return Err(ConfigError::Host { name: name.to_owned(), reason: error.to_string() }),
            },
            Source::Map(values) => values.get(name).cloned(),
            Source::Env => std::env::var(env_name(name)).ok(),
        };
        Ok(value.filter(|value| !value.trim().is_empty()))
    }

    /// The value of `name`; an error when unset.
    pub fn require(&self, name: &str) -> Result<String, ConfigError> {
        self.get(name)?.ok_or_else(|| ConfigError::Missing(name.to_owned()))
    }

    /// The value of `name` parsed as `T`, or `default` when unset.
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.get(name)? {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|error: T::Err| ConfigError::Invalid { name: name.to_owned(), reason: error.to_string() }),
        }
    }

    /// A duration given in milliseconds, or `default` when unset.
    pub fn millis_or(&self, name: &str, default: Duration) -> Result<Duration, ConfigError> {
        let default_ms = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
        self.parse_or(name, default_ms).map(Duration::from_millis)
    }
}

/// The environment variable Spin's environment provider reads for variable `name`.
pub fn env_name(name: &str) -> String {
    format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_unset_and_parsing_reports_the_name() {
        let config = Config::from_map(HashMap::from([
            ("empty".to_owned(), " ".to_owned()),
            ("limit".to_owned(), "12".to_owned()),
            ("bad".to_owned(), "x".to_owned()),
        ]));
        assert_eq!(config.get("empty").unwrap(), None);
        assert!(matches!(config.require("empty"), Err(ConfigError::Missing(_))));
        assert_eq!(config.parse_or("limit", 1u32).unwrap(), 12);
        assert_eq!(config.parse_or("absent", 5u32).unwrap(), 5);
        let error = config.parse_or("bad", 1u32).unwrap_err().to_string();
        assert!(error.contains("`bad`"), "{error}");
        assert_eq!(config.millis_or("limit", Duration::ZERO).unwrap(), Duration::from_millis(12));
    }

    #[test]
    fn env_names_follow_spin_provider() {
        assert_eq!(env_name("db_url"), "SPIN_VARIABLE_DB_URL");
    }
}

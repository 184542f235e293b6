//! The parts of a Spin manifest (v2) devhost needs: application variables, HTTP triggers, and each
//! component's variables and key-value stores.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

/// A manifest problem; devhost refuses to start, as `spin up` would.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The manifest path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a valid manifest.
    #[error("invalid manifest: {0}")]
    Parse(#[from] toml::de::Error),
    /// The manifest breaks a rule `spin up` enforces.
    #[error("invalid manifest: {0}")]
    Invalid(String),
    /// A required application variable has no value.
    #[error("required variable `{0}` has no value (set SPIN_VARIABLE_{upper})", upper = .0.to_ascii_uppercase())]
    MissingVariable(String),
    /// A component variable template names an unknown variable or is malformed.
    #[error("component `{component}` variable `{variable}`: {reason}")]
    Template {
        /// The component.
        component: String,
        /// The component variable.
        variable: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
struct RawManifest {
    #[serde(default)]
    variables: BTreeMap<String, RawVariable>,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Debug, Default, Deserialize)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
}

#[derive(Debug, Deserialize)]
struct RawHttpTrigger {
    route: RawRoute,
    component: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawRoute {
    Path(String),
    Private { private: bool },
}

#[derive(Debug, Default, Deserialize)]
struct RawVariable {
    default: Option<String>,
    #[serde(default)]
    required: bool,
}

#[derive(Debug, Default, Deserialize)]
struct RawComponent {
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    key_value_stores: Vec<String>,
}

/// How a trigger is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A public route pattern: exact (`/health`) or wildcard (`/api/...`, `/...`).
    Public(String),
    /// Reachable only by service chaining.
    Private,
}

/// An HTTP trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// How it is reached.
    pub route: Route,
    /// The component id.
    pub component: String,
}

/// The resolved application: triggers, every component's variable values and key-value store labels.
#[derive(Debug, Clone)]
pub struct App {
    /// HTTP triggers, in manifest order.
    pub triggers: Vec<Trigger>,
    /// Component id → its variables (only those it declares, as on Spin).
    pub variables: HashMap<String, HashMap<String, String>>,
    /// Component id → the key-value stores it may open (`key_value_stores`).
    pub key_value_stores: HashMap<String, Vec<String>>,
}

impl App {
    /// Loads `path`, resolving variables from `overrides` (highest precedence), then the runtime
    /// configuration's static providers (`provided`, which Spin asks before the environment), then the process
    /// environment (`SPIN_VARIABLE_<NAME>`), then the manifest defaults.
    pub fn load(
        path: &Path,
        overrides: &HashMap<String, String>,
        provided: &HashMap<String, String>,
    ) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ManifestError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text, overrides, |name| {
            provided.get(name).cloned().or_else(|| std::env::var(kit::config::env_name(name)).ok())
        })
    }

    /// Parses manifest text; `providers` looks up an application variable's value by its Spin name, as Spin's
    /// variables providers would (the manifest default applies when it finds none).
    pub fn parse(
        text: &str,
        overrides: &HashMap<String, String>,
        providers: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ManifestError> {
        let raw: RawManifest = toml::from_str(text)?;
        let mut values = HashMap::new();
        for (name, variable) in &raw.variables {
            if variable.required == variable.default.is_some() {
                return Err(ManifestError::Invalid(format!(
                    "variable `{name}` must have either a default or `required = true`"
                )));
            }
            let value = overrides.get(name).cloned().or_else(|| providers(name)).or_else(|| variable.default.clone());
            match value {
                Some(value) => {
                    values.insert(name.clone(), value);
                }
                None if variable.required => return Err(ManifestError::MissingVariable(name.clone())),
                None => {}
            }
        }
        let mut variables = HashMap::new();
        let mut key_value_stores = HashMap::new();
        for (id, component) in &raw.component {
            key_value_stores.insert(id.clone(), component.key_value_stores.clone());
            let mut resolved = HashMap::new();
            for (name, template) in &component.variables {
                let value = render(template, &values).map_err(|reason| ManifestError::Template {
                    component: id.clone(),
                    variable: name.clone(),
                    reason,
                })?;
                resolved.insert(name.clone(), value);
            }
            variables.insert(id.clone(), resolved);
        }
        let mut triggers = Vec::new();
        for trigger in raw.trigger.http {
            let route = match trigger.route {
                RawRoute::Path(path) => Route::Public(path),
                RawRoute::Private { private: true } => Route::Private,
                RawRoute::Private { private: false } => {
                    return Err(ManifestError::Invalid(format!(
                        "component `{}`: a route table must be `{{ private = true }}`",
                        trigger.component
                    )))
                }
            };
            triggers.push(Trigger { route, component: trigger.component });
        }
        Ok(Self { triggers, variables, key_value_stores })
    }

    /// The public trigger for `path`: an exact route wins, then the longest wildcard prefix.
    pub fn route(&self, path: &str) -> Option<&Trigger> {
        let public = self.triggers.iter().filter_map(|trigger| match &trigger.route {
            Route::Public(pattern) => Some((pattern.as_str(), trigger)),
            Route::Private => None,
        });
        let mut best: Option<(usize, &Trigger)> = None;
        for (pattern, trigger) in public {
            if let Some(prefix) = pattern.strip_suffix("/...") {
                let matches = path == prefix || path.starts_with(&format!("{prefix}/")) || prefix.is_empty();
                if matches && best.is_none_or(|(length, _)| prefix.len() > length) {
                    best = Some((prefix.len(), trigger));
                }
            } else if pattern == path {
                return Some(trigger);
            }
        }
        best.map(|(_, trigger)| trigger)
    }
}

/// Renders a Spin template: `{{ name }}` placeholders replaced by application variable values.
fn render(template: &str, values: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("unclosed `{{`")?;
        let name = after[..end].trim();
        let value = values.get(name).ok_or_else(|| format!("no value for application variable `{name}`"))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
spin_manifest_version = 2
[application]
name = "x"
[variables]
db_url = { default = "postgres://default" }
secret_key = { required = true, secret = true }
[[trigger.http]]
route = "/..."
component = "gateway"
[[trigger.http]]
route = "/static/..."
component = "files"
[[trigger.http]]
route = "/exact"
component = "exact"
[[trigger.http]]
route = { private = true }
component = "users"
[component.users.variables]
db_url = "{{ db_url }}"
key = "k={{secret_key}}"
"#;

    fn load(overrides: &[(&str, &str)], env: &[(&str, &str)]) -> Result<App, ManifestError> {
        let overrides = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        App::parse(MANIFEST, &overrides, |name| env.get(name).cloned())
    }

    #[test]
    fn variables_resolve_override_then_env_then_default() {
        let app = load(&[("secret_key", "s")], &[]).unwrap();
        assert_eq!(app.variables["users"]["db_url"], "postgres://default");
        assert_eq!(app.variables["users"]["key"], "k=s");
        let app = load(&[("secret_key", "s")], &[("db_url", "postgres://env")]).unwrap();
        assert_eq!(app.variables["users"]["db_url"], "postgres://env");
        let app = load(&[("secret_key", "s"), ("db_url", "postgres://o")], &[("db_url", "e")]).unwrap();
        assert_eq!(app.variables["users"]["db_url"], "postgres://o");
    }

    #[test]
    fn a_required_variable_without_value_stops_the_start() {
        assert!(matches!(load(&[], &[]), Err(ManifestError::MissingVariable(name)) if name == "secret_key"));
    }

    #[test]
    fn routes_prefer_exact_then_longest_prefix_and_skip_private() {
        let app = load(&[("secret_key", "s")], &[]).unwrap();
        let component = |path| app.route(path).map(|t| t.component.as_str());
        assert_eq!(component("/exact"), Some("exact"));
        assert_eq!(component("/static/a.css"), Some("files"));
        assert_eq!(component("/static"), Some("files"));
        assert_eq!(component("/staticx"), Some("gateway"));
        assert_eq!(component("/users"), Some("gateway"));
    }
}

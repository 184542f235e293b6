//! Checks real responses against `docs/openapi.json` (and events against `docs/schemas/`), so the documents
//! cannot drift from what the system answers: every documented required member is present, no undocumented member appears, and each value
//! has its documented type, recursively. A small JSON Schema subset — what utoipa emits: `$ref`, `type`
//! (also as a list), `properties`/`required`, `items`, `enum`, `oneOf`/`anyOf`/`allOf`.

use serde_json::Value;

/// The committed OpenAPI document.
pub fn document() -> Value {
    serde_json::from_str(include_str!("../../../docs/openapi.json")).unwrap_or(Value::Null)
}

/// The documented JSON schema of the `status` answer to `method path` (a concrete path such as
/// `/orders/0193…`, matched against the templates), if there is one.
pub fn response_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> Option<&'a Value> {
    let paths = doc.get("paths")?.as_object()?;
    let (_, item) = paths.iter().find(|(template, _)| matches_template(template, path))?;
    let response = item.get(method.to_lowercase())?.get("responses")?.get(status.to_string())?;
    // A status shared by every operation is a reference to `components/responses`.
    let response = resolve(doc, response);
    let content = response.get("content")?.as_object()?;
    content.iter().find(|(kind, _)| kind.contains("json")).and_then(|(_, media)| media.get("schema"))
}

fn matches_template(template: &str, path: &str) -> bool {
    let (template, path): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    template.len() == path.len()
        && template.iter().zip(&path).all(|(t, p)| (t.starts_with('{') && t.ends_with('}')) || t == p)
}

/// Where `value` departs from `schema`; empty when it conforms.
pub fn violations(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    check(doc, schema, value, "$", &mut found);
    found
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            doc.pointer(pointer).map_or(schema, |target| resolve(doc, target))
        }
        None => schema,
    }
}

fn type_matches(kind: &str, value: &Value) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    for combinator in ["oneOf", "anyOf"] {
        if let Some(branches) = schema.get(combinator).and_then(Value::as_array) {
            if !branches.iter().any(|branch| violations_at(doc, branch, value, at).is_empty()) {
                found.push(format!("{at}: matches no {combinator} branch: {value}"));
            }
            return;
        }
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            check(doc, part, value, at, found);
        }
    }
    let kinds: Vec<&str> = match schema.get("type") {
        Some(Value::String(kind)) => vec![kind.as_str()],
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !kinds.is_empty() && !kinds.iter().any(|kind| type_matches(kind, value)) {
        found.push(format!("{at}: expected {kinds:?}, got {value}"));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            found.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    if let (Some(object), Some(properties)) = (value.as_object(), schema.get("properties").and_then(Value::as_object)) {
        for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(name) = required.as_str() {
                if !object.contains_key(name) {
                    found.push(format!("{at}: documented member `{name}` is missing"));
                }
            }
        }
        for (name, member) in object {
            match properties.get(name) {
                Some(property) => check(doc, property, member, &format!("{at}.{name}"), found),
                None => found.push(format!("{at}: member `{name}` is not documented")),
            }
        }
    }
    if let (Some(items), Some(elements)) = (schema.get("items"), value.as_array()) {
        for (index, element) in elements.iter().enumerate() {
            check(doc, items, element, &format!("{at}[{index}]"), found);
        }
    }
}

fn violations_at(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut found = Vec::new();
    check(doc, schema, value, at, &mut found);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drift_in_either_direction_is_reported() {
        let doc = json!({ "components": { "schemas": { "Bucket": {
            "type": "object", "required": ["start", "units"],
            "properties": { "start": { "type": "string" }, "units": { "type": "integer" },
                            "note": { "type": ["string", "null"] } } } } } });
        let schema = json!({ "type": "array", "items": { "$ref": "#/components/schemas/Bucket" } });
        assert!(violations(&doc, &schema, &json!([{ "start": "2026-11-01", "units": 3, "note": null }])).is_empty());
        let missing = violations(&doc, &schema, &json!([{ "start": "2026-11-01" }]));
        assert_eq!(missing, vec!["$[0]: documented member `units` is missing"]);
        let extra = violations(&doc, &schema, &json!([{ "start": "x", "units": 1, "quantity": 1 }]));
        assert_eq!(extra, vec!["$[0]: member `quantity` is not documented"]);
        let wrong = violations(&doc, &schema, &json!([{ "start": 1, "units": 1 }]));
        assert_eq!(wrong.len(), 1);
    }

    #[test]
    fn concrete_paths_find_their_template() {
        assert!(matches_template("/orders/{id}", "/orders/0193"));
        assert!(!matches_template("/orders/{id}", "/orders/0193/cancel"));
        assert!(matches_template("/analytics/sales", "/analytics/sales"));
    }
}

//! Paths into JSON values: `user.tags[0]`, `[2].id`, `""` for the root.

use serde_json::Value;

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Result<Vec<Segment<'_>>, String> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let end = stripped
                .find(']')
                .ok_or_else(|| format!("unclosed `[` in path `{path}`"))?;
            let index = stripped[..end]
                .parse()
                .map_err(|_| format!("bad index in path `{path}`"))?;
            out.push(Segment::Index(index));
            rest = &stripped[end + 1..];
        }
        if !rest.is_empty() {
            return Err(format!("unexpected `{rest}` in path `{path}`"));
        }
    }
    Ok(out)
}

/// The value at `path` in `doc`, if there is one.
pub fn lookup<'v>(doc: &'v Value, path: &str) -> Option<&'v Value> {
    segments(path)
        .ok()?
        .into_iter()
        .try_fold(doc, |v, seg| match seg {
            Segment::Key(k) => v.get(k),
            Segment::Index(i) => v.get(i),
        })
}

/// Puts `value` at `path`, creating objects for missing keys.
pub(crate) fn set(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let mut cur = doc;
    for seg in segments(path)? {
        cur = match seg {
            Segment::Key(k) => {
                if cur.is_null() {
                    *cur = Value::Object(Default::default());
                }
                cur.as_object_mut()
                    .ok_or_else(|| format!("`{path}`: `{k}` is not inside an object"))?
                    .entry(k)
                    .or_insert(Value::Null)
            }
            Segment::Index(i) => cur
                .get_mut(i)
                .ok_or_else(|| format!("`{path}`: no element {i}"))?,
        };
    }
    *cur = value;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn looks_up_nested_paths() {
        let doc = json!({"users": [{"id": 1}, {"id": 2, "tags": ["a", "b"]}]});
        assert_eq!(lookup(&doc, "users[1].id"), Some(&json!(2)));
        assert_eq!(lookup(&doc, "users[1].tags[1]"), Some(&json!("b")));
        assert_eq!(lookup(&doc, ""), Some(&doc));
        assert_eq!(lookup(&doc, "users[5].id"), None);
        assert_eq!(lookup(&json!([7, 8]), "[1]"), Some(&json!(8)));
        assert_eq!(lookup(&doc, "users[x]"), None);
    }

    #[test]
    fn sets_values() {
        let mut doc = json!({"json": {"a": [1, 2]}});
        set(&mut doc, "json.a[1]", json!(9)).unwrap();
        set(&mut doc, "path.id", json!(5)).unwrap();
        assert_eq!(doc, json!({"json": {"a": [1, 9]}, "path": {"id": 5}}));
        assert!(set(&mut doc, "json.a[7]", json!(1)).is_err());
    }
}

//! Entry points: a JSON body in, a normalized model or every failure out.

use super::models::Model;
use super::reader::{Reader, Stop, MAX_RECORDED_ERRORS};
use super::scan::Kind;
use crate::{FieldError, ValidationFailure};
use serde::Serialize;

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Not JSON at all (empty, syntax, nesting deeper than 200, trailing
    /// data): a 400.
    Malformed(String),
    /// JSON that breaks the model's rules: a 422 with the failing fields
    /// (at most [`MAX_RECORDED_ERRORS`]) and how many there were in all.
    Invalid(ValidationFailure, usize),
}

/// Largest number of items a batch may hold.
pub const MAX_BATCH: usize = 1000;

impl From<Stop> for Rejection {
    fn from(s: Stop) -> Self {
        Self::Malformed(s.0)
    }
}

fn invalid(errors: Vec<FieldError>, total: usize) -> Rejection {
    let total = total.max(errors.len());
    Rejection::Invalid(ValidationFailure { errors }, total)
}

fn reader(body: &[u8]) -> Result<Reader<'_>, Rejection> {
    let text = std::str::from_utf8(body)
        .map_err(|e| Rejection::Malformed(format!("request body is not UTF-8: {e}")))?;
    if text.trim().is_empty() {
        return Err(Rejection::Malformed("request body is empty".to_owned()));
    }
    Ok(Reader::new(text))
}

/// Reads one model from a JSON object body.
pub fn parse<'j, T: Model<'j>>(body: &'j [u8]) -> Result<T, Rejection> {
    let mut r = reader(body)?;
    let value = T::read(&mut r)?;
    r.finish()?;
    match value {
        Some(v) if r.c.total == 0 => Ok(v),
        _ => Err(invalid(r.c.errors, r.c.total)),
    }
}

/// Reads the array of a batch into `report`; `false` when it is no array.
fn items<'j, T: Model<'j>>(r: &mut Reader<'j>, report: &mut BatchReport<T>) -> Result<bool, Stop> {
    r.array(|r, index| {
        report.count += 1;
        if index >= MAX_BATCH {
            return r.skip();
        }
        // Each item collects its own failures with paths relative to it.
        let outer = std::mem::take(&mut r.c.errors);
        let before = r.c.total;
        let (start, _) = r.progress();
        let item = r.relative(T::read);
        if index == 0 {
            // Room for as many more items as the first one's size says
            // the rest of the body holds.
            let (end, left) = r.progress();
            let more = left / (end - start).max(1);
            report.items.reserve(more.min(MAX_BATCH - 1) + 1);
        }
        let errors = std::mem::replace(&mut r.c.errors, outer);
        match item? {
            Some(item) if r.c.total == before => {
                report.valid += 1;
                report.items.push(item);
            }
            _ => {
                report.invalid += 1;
                if !errors.is_empty() {
                    report.errors.push(ItemErrors { index, errors });
                }
            }
        }
        Ok(())
    })
}

/// The failures of one batch item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemErrors {
    /// Position in the batch.
    pub index: usize,
    /// Every failing field of the item (paths relative to the item).
    pub errors: Vec<FieldError>,
}

/// Per-item results of a batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchReport<T> {
    /// Items received.
    pub count: usize,
    /// Items that passed.
    pub valid: usize,
    /// Items that failed.
    pub invalid: usize,
    /// Failures by item (items past the recording budget are counted in
    /// `invalid` but listed with no errors, or not at all).
    pub errors: Vec<ItemErrors>,
    /// Failures found over all items.
    pub total_errors: usize,
    /// Whether failures were left out of `errors` (more than
    /// [`MAX_RECORDED_ERRORS`]); not serialized when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The items that passed, normalized (not serialized).
    #[serde(skip)]
    pub items: Vec<T>,
}

/// Reads a batch of models: a JSON array, or an object holding the array
/// under `envelope` (`{"users": [...]}`); 1 to [`MAX_BATCH`] items, each
/// checked on its own (failure paths are relative to the item).
pub fn parse_batch<'j, T: Model<'j>>(
    body: &'j [u8],
    envelope: &'static str,
) -> Result<BatchReport<T>, Rejection> {
    let mut r = reader(body)?;
    let mut report = BatchReport {
        count: 0,
        valid: 0,
        invalid: 0,
        errors: Vec::new(),
        total_errors: 0,
        truncated: false,
        items: Vec::new(),
    };
    let is_array = if r.peek()? == Kind::Object {
        let mut is_array = None;
        r.object(&[envelope], |r, _| {
            is_array = Some(items(r, &mut report)?);
            Ok(())
        })?;
        is_array.unwrap_or_else(|| {
            r.c.field(envelope, |c| c.fail("required", "is required"));
            false
        })
    } else {
        items(&mut r, &mut report)?
    };
    r.finish()?;
    if !is_array {
        return Err(invalid(r.c.errors, r.c.total));
    }
    if report.count == 0 || report.count > MAX_BATCH {
        return Err(invalid(
            vec![FieldError::new(
                "",
                "length",
                format!("a batch holds 1 to {MAX_BATCH} items, got {}", report.count),
            )],
            1,
        ));
    }
    report.total_errors = r.c.total;
    report.truncated = r.c.total > MAX_RECORDED_ERRORS;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::{AdvancedUser, ComplexUser, Order, Product, SimpleUser};

    fn fields(r: Result<impl Sized, Rejection>) -> Vec<String> {
        match r {
            Err(Rejection::Invalid(f, _)) => f.errors.into_iter().map(|e| e.field).collect(),
            Err(Rejection::Malformed(m)) => panic!("malformed: {m}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn a_million_failures_are_counted_but_a_hundred_recorded() {
        // 2 MB of wrong-typed tags: one failure each.
        let body = format!(
            r#"{{"id":5,"username":"abc","email":"a@b.co","age":30,"height":1.8,"tags":[{}0]}}"#,
            "0,".repeat(1_000_000)
        );
        match parse::<AdvancedUser>(body.as_bytes()) {
            Err(Rejection::Invalid(f, total)) => {
                assert_eq!(f.errors.len(), MAX_RECORDED_ERRORS);
                assert_eq!(total, 1_000_001);
                assert_eq!(f.errors[99].field, "tags[99]");
            }
            other => panic!("{other:?}"),
        }
        // A batch shares one budget: items past it are counted, not listed.
        let item = r#"{"id":0,"username":"x","email":"bad","age":5,"height":9}"#;
        let batch = format!("[{}]", vec![item; 1000].join(","));
        let report = parse_batch::<AdvancedUser>(batch.as_bytes(), "users").unwrap();
        assert_eq!((report.count, report.invalid), (1000, 1000));
        assert_eq!(report.total_errors, 5000);
        assert!(report.truncated);
        let listed: usize = report.errors.iter().map(|e| e.errors.len()).sum();
        assert_eq!(listed, MAX_RECORDED_ERRORS);
    }

    #[test]
    fn valid_models_are_normalized() {
        let u: SimpleUser = parse(br#"{"id":1,"name":"A","email":"a@b.c"}"#).unwrap();
        assert_eq!(u.age, None);
        let a: AdvancedUser =
            parse(br#"{"id":5,"username":"abc","email":"a@b.co","age":30,"height":1.8}"#).unwrap();
        assert!(a.is_active);
        let p: Product = parse(
            br#"{"name":"W","price":10.10,"category":"Tools","sku":"W-1","stock_quantity":0}"#,
        )
        .unwrap();
        assert_eq!(p.price.to_string(), "10.10");
        assert!(p.tags.is_empty());
    }

    #[test]
    fn every_failure_is_reported_with_its_path() {
        let got = fields(parse::<ComplexUser>(
            br#"{"id":0,"personal_info":{"id":1,"username":"x","email":"bad","age":5,"height":9},
                "billing_address":{"street":"1","city":"C","state":"CAL","zip_code":"1"},
                "created_at":"never"}"#,
        ));
        assert_eq!(
            got,
            [
                "id",
                "personal_info.username",
                "personal_info.email",
                "personal_info.age",
                "personal_info.height",
                "billing_address.street",
                "billing_address.city",
                "billing_address.state",
                "billing_address.zip_code",
                "created_at"
            ]
        );
    }

    #[test]
    fn malformed_and_too_deep_are_not_validation_failures() {
        for body in [&b""[..], b"{", b"{\"id\":1} x", b"\xff"] {
            assert!(matches!(
                parse::<SimpleUser>(body),
                Err(Rejection::Malformed(_))
            ));
        }
        let deep = format!("{{\"id\":{}}}", "[".repeat(100_000));
        assert!(matches!(
            parse::<SimpleUser>(deep.as_bytes()),
            Err(Rejection::Malformed(_))
        ));
        assert_eq!(fields(parse::<SimpleUser>(b"[1]")), [""]);
    }

    #[test]
    fn orders_check_and_compute_totals() {
        let base = r#""id":1,"customer_id":1,"order_date":"2024-01-01T00:00:00Z","status":"pending",
            "shipping_address":{"street":"1 Main St","city":"Town","state":"CA","zip_code":"12345"},
            "items":[{"product_id":1,"quantity":3,"unit_price":"0.10"}]"#;
        let body = format!("{{{base}}}");
        let o: Order = parse(body.as_bytes()).unwrap();
        assert_eq!(o.total_amount.to_string(), "0.30");
        assert!(o.total_computed);
        let wrong = format!("{{{base},\"total_amount\":\"0.31\"}}");
        assert_eq!(fields(parse::<Order>(wrong.as_bytes())), ["total_amount"]);
    }

    #[test]
    fn batches_report_by_index() {
        let r: BatchReport<SimpleUser> = parse_batch(
            br#"[{"id":1,"name":"a","email":"b"},{"id":"x","name":"a"},{"id":3,"name":"c","email":"d"}]"#,
            "users",
        )
        .unwrap();
        assert_eq!((r.count, r.valid, r.invalid), (3, 2, 1));
        assert_eq!(r.errors[0].index, 1);
        let paths: Vec<_> = r.errors[0]
            .errors
            .iter()
            .map(|e| e.field.as_str())
            .collect();
        assert_eq!(paths, ["id", "email"]);
        assert!(parse_batch::<SimpleUser>(b"[]", "users").is_err());
        // The reference suite's envelope: the same report, paths inside the item.
        let r: BatchReport<SimpleUser> = parse_batch(
            br#"{"note":1,"users":[{"id":1,"name":"a","email":"b"},{"id":"x","name":"a","email":"c"}]}"#,
            "users",
        )
        .unwrap();
        assert_eq!((r.count, r.valid, r.invalid), (2, 1, 1));
        assert_eq!(r.errors[0].errors[0].field, "id");
        assert_eq!(
            fields(parse_batch::<SimpleUser>(br#"{"products":[]}"#, "users")),
            ["users"]
        );
        assert_eq!(
            fields(parse_batch::<SimpleUser>(br#"{"users":{"id":1}}"#, "users")),
            ["users"]
        );
        assert!(parse_batch::<SimpleUser>(b"{}", "users").is_err());
    }
}

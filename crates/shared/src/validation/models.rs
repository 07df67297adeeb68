//! The validation category's models and their constraints (the suite's
//! reference: Catzilla's models, made exact). Each `read` reports every
//! failing field and returns the normalized value only when none failed.

use super::raw::{Checker, Fields};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

fn re(pattern: &str) -> regex::Regex {
    regex::Regex::new(pattern).unwrap_or_else(|e| panic!("bad built-in pattern {pattern}: {e}"))
}

static USERNAME: LazyLock<regex::Regex> = LazyLock::new(|| re(r"^[a-zA-Z0-9_]+$"));
static EMAIL: LazyLock<regex::Regex> = LazyLock::new(|| re(r"^[^@]+@[^@]+\.[^@]+$"));
static ZIP: LazyLock<regex::Regex> = LazyLock::new(|| re(r"^\d{5}(-\d{4})?$"));
static CATEGORY: LazyLock<regex::Regex> = LazyLock::new(|| re(r"^[a-zA-Z0-9\s\-_]+$"));
static SKU: LazyLock<regex::Regex> = LazyLock::new(|| re(r"^[A-Z0-9\-]+$"));
static STATUS: LazyLock<regex::Regex> =
    LazyLock::new(|| re(r"^(pending|confirmed|shipped|delivered|cancelled)$"));

/// A model the engine can read from a JSON object.
pub trait Model<'a>: Sized + Serialize {
    /// Name used in statistics (`simple_user`, …).
    const NAME: &'static str;
    /// Reads and checks the object; `None` when any field failed (the
    /// failures are in `c`).
    fn read(c: &mut Checker, f: &Fields<'a>) -> Option<Self>;
}

/// Reads `name` as required; runs `f` on it; `None` if absent or failing.
fn req<'a, T>(
    c: &mut Checker,
    f: &Fields<'a>,
    name: &str,
    read: impl FnOnce(&mut Checker, &'a RawValue) -> Option<T>,
) -> Option<T> {
    c.field(name, |c| c.required(f.get(name)).and_then(|r| read(c, r)))
}

/// Reads `name` if given (absent or null is `Ok(None)`); `Err` when given
/// but failing.
fn opt<'a, T>(
    c: &mut Checker,
    f: &Fields<'a>,
    name: &str,
    read: impl FnOnce(&mut Checker, &'a RawValue) -> Option<T>,
) -> Result<Option<T>, ()> {
    match Checker::optional(f.get(name)) {
        None => Ok(None),
        Some(r) => c.field(name, |c| read(c, r)).map(Some).ok_or(()),
    }
}

fn int_in(c: &mut Checker, r: &RawValue, min: Option<i64>, max: Option<i64>) -> Option<i64> {
    let v = c.int(r)?;
    c.range_i(v, min, max).then_some(v)
}

fn text<'a>(
    c: &mut Checker,
    r: &'a RawValue,
    min: usize,
    max: Option<usize>,
) -> Option<Cow<'a, str>> {
    let s = c.str(r)?;
    c.length(&s, min, max).then_some(s)
}

fn matching<'a>(c: &mut Checker, r: &'a RawValue, re: &regex::Regex) -> Option<Cow<'a, str>> {
    let s = c.str(r)?;
    c.pattern(&s, re).then_some(s)
}

fn strings<'a>(c: &mut Checker, r: &'a RawValue) -> Option<Vec<Cow<'a, str>>> {
    let items = c.array(r)?;
    let mark = c.mark();
    let out: Vec<_> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| c.index(i, |c| c.str(item)))
        .collect();
    (c.mark() == mark).then_some(out)
}

fn string_map<'a>(
    c: &mut Checker,
    r: &'a RawValue,
) -> Option<BTreeMap<Cow<'a, str>, Cow<'a, str>>> {
    let fields = c.object(r)?;
    let mark = c.mark();
    let mut out = BTreeMap::new();
    for (k, v) in fields.iter() {
        if let Some(s) = c.field(k, |c| c.str(v)) {
            out.insert(Cow::Owned(k.to_owned()), s);
        }
    }
    (c.mark() == mark).then_some(out)
}

/// `id`, `name`, `email`, optional `age`: types only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimpleUser<'a> {
    /// Any integer.
    pub id: i64,
    /// Any string.
    pub name: Cow<'a, str>,
    /// Any string.
    pub email: Cow<'a, str>,
    /// Any integer, if given.
    pub age: Option<i64>,
}

impl<'a> Model<'a> for SimpleUser<'a> {
    const NAME: &'static str = "simple_user";
    fn read(c: &mut Checker, f: &Fields<'a>) -> Option<Self> {
        let id = req(c, f, "id", |c, r| c.int(r));
        let name = req(c, f, "name", |c, r| c.str(r));
        let email = req(c, f, "email", |c, r| c.str(r));
        let age = opt(c, f, "age", |c, r| c.int(r));
        Some(Self {
            id: id?,
            name: name?,
            email: email?,
            age: age.ok()?,
        })
    }
}

/// A user with ranges, lengths and patterns on every field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdvancedUser<'a> {
    /// 1 to 1,000,000.
    pub id: i64,
    /// 3–20 of `[a-zA-Z0-9_]`.
    pub username: Cow<'a, str>,
    /// `^[^@]+@[^@]+\.[^@]+$`.
    pub email: Cow<'a, str>,
    /// 13 to 120.
    pub age: i64,
    /// Metres, greater than 0.5 and less than 3.0.
    pub height: f64,
    /// Defaults to true.
    pub is_active: bool,
    /// Optional strings.
    pub tags: Option<Vec<Cow<'a, str>>>,
    /// Optional string-to-string map.
    pub metadata: Option<BTreeMap<Cow<'a, str>, Cow<'a, str>>>,
}

impl<'a> Model<'a> for AdvancedUser<'a> {
    const NAME: &'static str = "advanced_user";
    fn read(c: &mut Checker, f: &Fields<'a>) -> Option<Self> {
        let id = req(c, f, "id", |c, r| int_in(c, r, Some(1), Some(1_000_000)));
        let username = req(c, f, "username", |c, r| {
            let s = text(c, r, 3, Some(20))?;
            c.pattern(&s, &USERNAME).then_some(s)
        });
        let email = req(c, f, "email", |c, r| matching(c, r, &EMAIL));
        let age = req(c, f, "age", |c, r| int_in(c, r, Some(13), Some(120)));
        let height = req(c, f, "height", |c, r| {
            let h = c.float(r)?;
            let ok = h > 0.5 && h < 3.0;
            if !ok {
                c.fail("range", "must be greater than 0.5 and less than 3.0");
            }
            ok.then_some(h)
        });
        let is_active = opt(c, f, "is_active", |c, r| c.bool(r));
        let tags = opt(c, f, "tags", strings);
        let metadata = opt(c, f, "metadata", string_map);
        Some(Self {
            id: id?,
            username: username?,
            email: email?,
            age: age?,
            height: height?,
            is_active: is_active.ok()?.unwrap_or(true),
            tags: tags.ok()?,
            metadata: metadata.ok()?,
        })
    }
}

/// A US postal address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Address<'a> {
    /// 5–100 characters.
    pub street: Cow<'a, str>,
    /// 2–50 characters.
    pub city: Cow<'a, str>,
    /// Exactly 2 characters.
    pub state: Cow<'a, str>,
    /// `12345` or `12345-6789`.
    pub zip_code: Cow<'a, str>,
    /// Defaults to `USA`.
    pub country: Cow<'a, str>,
}

impl<'a> Model<'a> for Address<'a> {
    const NAME: &'static str = "address";
    fn read(c: &mut Checker, f: &Fields<'a>) -> Option<Self> {
        let street = req(c, f, "street", |c, r| text(c, r, 5, Some(100)));
        let city = req(c, f, "city", |c, r| text(c, r, 2, Some(50)));
        let state = req(c, f, "state", |c, r| text(c, r, 2, Some(2)));
        let zip_code = req(c, f, "zip_code", |c, r| matching(c, r, &ZIP));
        let country = opt(c, f, "country", |c, r| c.str(r));
        Some(Self {
            street: street?,
            city: city?,
            state: state?,
            zip_code: zip_code?,
            country: country.ok()?.unwrap_or(Cow::Borrowed("USA")),
        })
    }
}

/// Reads a nested model at `r`.
fn nested<'a, T: Model<'a>>(c: &mut Checker, r: &'a RawValue) -> Option<T> {
    let fields = c.object(r)?;
    T::read(c, &fields)
}

/// A list of models; every element is checked.
fn list<'a, T: Model<'a>>(c: &mut Checker, r: &'a RawValue, min: usize) -> Option<Vec<T>> {
    let items = c.array(r)?;
    if items.len() < min {
        c.fail("length", format!("must have at least {min} item(s)"));
        return None;
    }
    let mark = c.mark();
    let out: Vec<T> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| c.index(i, |c| nested(c, item)))
        .collect();
    (c.mark() == mark).then_some(out)
}

/// A preference value: string, integer or boolean.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Preference<'a> {
    /// Text.
    Text(Cow<'a, str>),
    /// Integer.
    Int(i64),
    /// Boolean.
    Bool(bool),
}

/// A user with nested models and date-times.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComplexUser<'a> {
    /// At least 1.
    pub id: i64,
    /// The user's details.
    pub personal_info: AdvancedUser<'a>,
    /// Billing address.
    pub billing_address: Address<'a>,
    /// Shipping address, if different.
    pub shipping_address: Option<Address<'a>>,
    /// String, integer or boolean values; defaults to empty.
    pub preferences: BTreeMap<Cow<'a, str>, Preference<'a>>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, if given.
    pub updated_at: Option<String>,
}

fn preferences<'a>(
    c: &mut Checker,
    r: &'a RawValue,
) -> Option<BTreeMap<Cow<'a, str>, Preference<'a>>> {
    let fields = c.object(r)?;
    let mark = c.mark();
    let mut out = BTreeMap::new();
    for (k, v) in fields.iter() {
        let value = c.field(k, |c| match super::raw::kind(v) {
            "string" => c.str(v).map(Preference::Text),
            "boolean" => c.bool(v).map(Preference::Bool),
            "number" => c.int(v).map(Preference::Int),
            other => {
                c.fail(
                    "type",
                    format!("expected a string, integer or boolean, got {other}"),
                );
                None
            }
        });
        if let Some(value) = value {
            out.insert(Cow::Owned(k.to_owned()), value);
        }
    }
    (c.mark() == mark).then_some(out)
}

impl<'a> Model<'a> for ComplexUser<'a> {
    const NAME: &'static str = "complex_user";
    fn read(c: &mut Checker, f: &Fields<'a>) -> Option<Self> {
        let id = req(c, f, "id", |c, r| int_in(c, r, Some(1), None));
        let personal_info = req(c, f, "personal_info", nested);
        let billing_address = req(c, f, "billing_address", nested);
        let shipping_address = opt(c, f, "shipping_address", nested);
        let preferences = opt(c, f, "preferences", preferences);
        let created_at = req(c, f, "created_at", |c, r| c.datetime(r));
        let updated_at = opt(c, f, "updated_at", |c, r| c.datetime(r));
        Some(Self {
            id: id?,
            personal_info: personal_info?,
            billing_address: billing_address?,
            shipping_address: shipping_address.ok()?,
            preferences: preferences.ok()?.unwrap_or_default(),
            created_at: created_at?,
            updated_at: updated_at.ok()?,
        })
    }
}

fn price_in(c: &mut Checker, r: &RawValue, min: Decimal, max: Option<Decimal>) -> Option<Decimal> {
    let d = c.decimal(r)?;
    let ok = d >= min && max.is_none_or(|m| d <= m);
    if !ok {
        match max {
            Some(m) => c.fail("range", format!("must be at least {min} and at most {m}")),
            None => c.fail("range", format!("must be at least {min}")),
        }
    }
    ok.then_some(d)
}

/// A catalogue product with an exact decimal price.
#[derive(Debug, Clone, Serialize)]
pub struct Product<'a> {
    /// 1–200 characters.
    pub name: Cow<'a, str>,
    /// 0.01 to 999,999.99, exact; written as a string.
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
    /// Letters, digits, spaces, `-` and `_`.
    pub category: Cow<'a, str>,
    /// At most 1000 characters, if given.
    pub description: Option<Cow<'a, str>>,
    /// `[A-Z0-9-]+`.
    pub sku: Cow<'a, str>,
    /// Defaults to true.
    pub in_stock: bool,
    /// 0 to 100,000.
    pub stock_quantity: i64,
    /// Named measurements, if given.
    pub dimensions: Option<BTreeMap<Cow<'a, str>, f64>>,
    /// Defaults to empty.
    pub tags: Vec<Cow<'a, str>>,
    /// Objects with any values, if given (kept as sent).
    pub variants: Option<Vec<BTreeMap<Cow<'a, str>, &'a RawValue>>>,
}

fn dimensions<'a>(c: &mut Checker, r: &'a RawValue) -> Option<BTreeMap<Cow<'a, str>, f64>> {
    let fields = c.object(r)?;
    let mark = c.mark();
    let mut out = BTreeMap::new();
    for (k, v) in fields.iter() {
        if let Some(x) = c.field(k, |c| c.float(v)) {
            out.insert(Cow::Owned(k.to_owned()), x);
        }
    }
    (c.mark() == mark).then_some(out)
}

#[allow(clippy::type_complexity)]
fn variants<'a>(
    c: &mut Checker,
    r: &'a RawValue,
) -> Option<Vec<BTreeMap<Cow<'a, str>, &'a RawValue>>> {
    let items = c.array(r)?;
    let mark = c.mark();
    let out: Vec<_> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            c.index(i, |c| {
                c.object(item).map(|f| {
                    f.iter()
                        .map(|(k, v)| (Cow::Owned(k.to_owned()), v))
                        .collect()
                })
            })
        })
        .collect();
    (c.mark() == mark).then_some(out)
}

impl<'a> Model<'a> for Product<'a> {
    const NAME: &'static str = "product";
    fn read(c: &mut Checker, f: &Fields<'a>) -> Option<Self> {
        let name = req(c, f, "name", |c, r| text(c, r, 1, Some(200)));
        let price = req(c, f, "price", |c, r| {
            price_in(c, r, Decimal::new(1, 2), Some(Decimal::new(99_999_999, 2)))
        });
        let category = req(c, f, "category", |c, r| matching(c, r, &CATEGORY));
        let description = opt(c, f, "description", |c, r| text(c, r, 0, Some(1000)));
        let sku = req(c, f, "sku", |c, r| matching(c, r, &SKU));
        let in_stock = opt(c, f, "in_stock", |c, r| c.bool(r));
        let stock_quantity = req(c, f, "stock_quantity", |c, r| {
            int_in(c, r, Some(0), Some(100_000))
        });
        let dimensions = opt(c, f, "dimensions", dimensions);
        let tags = opt(c, f, "tags", strings);
        let variants = opt(c, f, "variants", variants);
        Some(Self {
            name: name?,
            price: price?,
            category: category?,
            description: description.ok()?,
            sku: sku?,
            in_stock: in_stock.ok()?.unwrap_or(true),
            stock_quantity: stock_quantity?,
            dimensions: dimensions.ok()?,
            tags: tags.ok()?.unwrap_or_default(),
            variants: variants.ok()?,
        })
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderItem {
    /// At least 1.
    pub product_id: i64,
    /// 1 to 1000.
    pub quantity: i64,
    /// At least 0.01, exact.
    #[serde(with = "rust_decimal::serde::str")]
    pub unit_price: Decimal,
}

impl<'a> Model<'a> for OrderItem {
    const NAME: &'static str = "order_item";
    fn read(c: &mut Checker, f: &Fields<'a>) -> Option<Self> {
        let product_id = req(c, f, "product_id", |c, r| int_in(c, r, Some(1), None));
        let quantity = req(c, f, "quantity", |c, r| int_in(c, r, Some(1), Some(1000)));
        let unit_price = req(c, f, "unit_price", |c, r| {
            price_in(c, r, Decimal::new(1, 2), None)
        });
        Some(Self {
            product_id: product_id?,
            quantity: quantity?,
            unit_price: unit_price?,
        })
    }
}

/// An order; `total_amount` is computed when absent and checked when given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order<'a> {
    /// At least 1.
    pub id: i64,
    /// At least 1.
    pub customer_id: i64,
    /// At least one item.
    pub items: Vec<OrderItem>,
    /// Where it goes.
    pub shipping_address: Address<'a>,
    /// Billing address, if different.
    pub billing_address: Option<Address<'a>>,
    /// Σ quantity × unit_price; a given total must equal it.
    #[serde(with = "rust_decimal::serde::str")]
    pub total_amount: Decimal,
    /// Whether `total_amount` was computed here.
    pub total_computed: bool,
    /// RFC 3339.
    pub order_date: String,
    /// pending, confirmed, shipped, delivered or cancelled.
    pub status: Cow<'a, str>,
}

impl<'a> Model<'a> for Order<'a> {
    const NAME: &'static str = "order";
    fn read(c: &mut Checker, f: &Fields<'a>) -> Option<Self> {
        let id = req(c, f, "id", |c, r| int_in(c, r, Some(1), None));
        let customer_id = req(c, f, "customer_id", |c, r| int_in(c, r, Some(1), None));
        let items = req(c, f, "items", |c, r| list::<OrderItem>(c, r, 1));
        let shipping_address = req(c, f, "shipping_address", nested);
        let billing_address = opt(c, f, "billing_address", nested);
        let total_amount = opt(c, f, "total_amount", |c, r| {
            price_in(c, r, Decimal::ZERO, None)
        });
        let order_date = req(c, f, "order_date", |c, r| c.datetime(r));
        let status = req(c, f, "status", |c, r| matching(c, r, &STATUS));
        let items = items?;
        let given = total_amount.ok()?;
        let sum = items.iter().try_fold(Decimal::ZERO, |acc, i| {
            acc.checked_add(Decimal::from(i.quantity).checked_mul(i.unit_price)?)
        });
        let Some(sum) = sum else {
            c.field("total_amount", |c| {
                c.fail("range", "the order total overflows")
            });
            return None;
        };
        if let Some(t) = given.filter(|t| *t != sum) {
            c.field("total_amount", |c| {
                c.fail(
                    "total_mismatch",
                    format!("{t} is not the sum of quantity × unit_price ({sum})"),
                )
            });
            return None;
        }
        let computed = given.is_none();
        let total_amount = given.unwrap_or(sum);
        Some(Self {
            id: id?,
            customer_id: customer_id?,
            items,
            shipping_address: shipping_address?,
            billing_address: billing_address.ok()?,
            total_amount,
            total_computed: computed,
            order_date: order_date?,
            status: status?,
        })
    }
}

/// Users, products and orders in one envelope.
#[derive(Debug, Clone, Serialize)]
pub struct MegaBatch<'a> {
    /// Advanced users.
    pub users: Vec<AdvancedUser<'a>>,
    /// Products.
    pub products: Vec<Product<'a>>,
    /// Orders.
    pub orders: Vec<Order<'a>>,
    /// RFC 3339.
    pub timestamp: String,
    /// `[A-Z0-9-]+`.
    pub batch_id: Cow<'a, str>,
}

impl<'a> Model<'a> for MegaBatch<'a> {
    const NAME: &'static str = "mega_batch";
    fn read(c: &mut Checker, f: &Fields<'a>) -> Option<Self> {
        let users = req(c, f, "users", |c, r| list(c, r, 0));
        let products = req(c, f, "products", |c, r| list(c, r, 0));
        let orders = req(c, f, "orders", |c, r| list(c, r, 0));
        let timestamp = req(c, f, "timestamp", |c, r| c.datetime(r));
        let batch_id = req(c, f, "batch_id", |c, r| matching(c, r, &SKU));
        Some(Self {
            users: users?,
            products: products?,
            orders: orders?,
            timestamp: timestamp?,
            batch_id: batch_id?,
        })
    }
}

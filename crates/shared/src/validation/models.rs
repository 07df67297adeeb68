//! The validation category's models and their constraints (the suite's
//! reference: Catzilla's models, made exact). Each `read` walks its object
//! once, checks every member where it stands, reports every failing field,
//! and returns the normalized value only when none failed.

use super::members::Members;
use super::reader::{opt, Reader, R};
use super::scan::Kind;
use rust_decimal::Decimal;
use serde::Serialize;
use std::borrow::Cow;

use super::patterns::{CATEGORY, EMAIL, SKU, STATUS, USERNAME, ZIP};

/// A model the engine can read.
pub trait Model<'j>: Sized + Serialize {
    /// Reads the next value, which must be an object of this model. `None`
    /// when anything failed (the failures are in `r.c`); `Err` only for
    /// broken JSON.
    fn read(r: &mut Reader<'j>) -> R<Option<Self>>;
}

/// A JSON string map with string values (`metadata`).
type StrMap<'j> = Members<'j, Cow<'j, str>>;

/// Every element of an array, read by `item`; `None` when the value is not
/// an array or any element failed (each failure is recorded).
fn array_of<'j, T>(
    r: &mut Reader<'j>,
    mut item: impl FnMut(&mut Reader<'j>) -> R<Option<T>>,
) -> R<Option<Vec<T>>> {
    let mut out = Vec::with_capacity(4);
    let mut ok = true;
    let is_array = r.array(|r, _| {
        match item(r)? {
            Some(v) => out.push(v),
            None => ok = false,
        }
        Ok(())
    })?;
    Ok((is_array && ok).then_some(out))
}

/// Every member of an object, its value read by `value`; `None` when the
/// value is not an object or any member failed (each failure is recorded).
fn map_of<'j, T>(
    r: &mut Reader<'j>,
    mut value: impl FnMut(&mut Reader<'j>) -> R<Option<T>>,
) -> R<Option<Members<'j, T>>> {
    let mut out = Vec::with_capacity(4);
    let mut ok = true;
    let is_map = r.map(|r, k| {
        match value(r)? {
            Some(v) => out.push((k, v)),
            None => ok = false,
        }
        Ok(())
    })?;
    Ok((is_map && ok).then(|| Members::from_read(out)))
}

fn strings<'j>(r: &mut Reader<'j>) -> R<Option<Vec<Cow<'j, str>>>> {
    array_of(r, Reader::str)
}

fn string_map<'j>(r: &mut Reader<'j>) -> R<Option<StrMap<'j>>> {
    map_of(r, Reader::str)
}

/// A list of models; every element is checked.
fn list<'j, T: Model<'j>>(r: &mut Reader<'j>, min: usize) -> R<Option<Vec<T>>> {
    let out = array_of(r, T::read)?;
    if out.as_ref().is_some_and(|v| v.len() < min) {
        r.c.fail("length", format!("must have at least {min} item(s)"));
        return Ok(None);
    }
    Ok(out)
}

/// `id`, `name`, `email`, optional `age`: types only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimpleUser<'j> {
    /// Any integer.
    pub id: i64,
    /// Any string.
    pub name: Cow<'j, str>,
    /// Any string.
    pub email: Cow<'j, str>,
    /// Any integer, if given.
    pub age: Option<i64>,
}

impl<'j> Model<'j> for SimpleUser<'j> {
    fn read(r: &mut Reader<'j>) -> R<Option<Self>> {
        let (mut id, mut name, mut email, mut age) = Default::default();
        if !r.object(&["id", "name", "email", "age"], |r, i| {
            match i {
                0 => id = r.slot(Reader::int)?,
                1 => name = r.slot(Reader::str)?,
                2 => email = r.slot(Reader::str)?,
                _ => age = r.slot(Reader::int)?,
            }
            Ok(())
        })? {
            return Ok(None);
        }
        let c = &mut r.c;
        let (id, name, email, age) = (
            c.req("id", id),
            c.req("name", name),
            c.req("email", email),
            opt(age),
        );
        Ok((|| {
            Some(Self {
                id: id?,
                name: name?,
                email: email?,
                age: age?,
            })
        })())
    }
}

/// A user with ranges, lengths and patterns on every field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdvancedUser<'j> {
    /// 1 to 1,000,000.
    pub id: i64,
    /// 3–20 of `[a-zA-Z0-9_]`.
    pub username: Cow<'j, str>,
    /// `^[^@]+@[^@]+\.[^@]+$`.
    pub email: Cow<'j, str>,
    /// 13 to 120.
    pub age: i64,
    /// Metres, greater than 0.5 and less than 3.0.
    pub height: f64,
    /// Defaults to true.
    pub is_active: bool,
    /// Optional strings.
    pub tags: Option<Vec<Cow<'j, str>>>,
    /// Optional string-to-string map.
    pub metadata: Option<StrMap<'j>>,
}

impl<'j> Model<'j> for AdvancedUser<'j> {
    fn read(r: &mut Reader<'j>) -> R<Option<Self>> {
        const F: [&str; 8] = [
            "id",
            "username",
            "email",
            "age",
            "height",
            "is_active",
            "tags",
            "metadata",
        ];
        let (mut id, mut username, mut email, mut age) = Default::default();
        let (mut height, mut is_active, mut tags, mut metadata) = Default::default();
        if !r.object(&F, |r, i| {
            match i {
                0 => id = r.slot(|r| r.int_in(Some(1), Some(1_000_000)))?,
                1 => {
                    username =
                        r.slot(|r| Ok(r.text(3, Some(20))?.filter(|s| r.c.pattern(s, &USERNAME))))?
                }
                2 => email = r.slot(|r| r.matching(&EMAIL))?,
                3 => age = r.slot(|r| r.int_in(Some(13), Some(120)))?,
                4 => {
                    height = r.slot(|r| {
                        Ok(r.float()?.filter(|h| {
                            let ok = *h > 0.5 && *h < 3.0;
                            if !ok {
                                r.c.fail("range", "must be greater than 0.5 and less than 3.0");
                            }
                            ok
                        }))
                    })?
                }
                5 => is_active = r.slot(Reader::bool)?,
                6 => tags = r.slot(strings)?,
                _ => metadata = r.slot(string_map)?,
            }
            Ok(())
        })? {
            return Ok(None);
        }
        let c = &mut r.c;
        let id = c.req("id", id);
        let username = c.req("username", username);
        let email = c.req("email", email);
        let age = c.req("age", age);
        let height = c.req("height", height);
        Ok((|| {
            Some(Self {
                id: id?,
                username: username?,
                email: email?,
                age: age?,
                height: height?,
                is_active: opt(is_active)?.unwrap_or(true),
                tags: opt(tags)?,
                metadata: opt(metadata)?,
            })
        })())
    }
}

/// A US postal address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Address<'j> {
    /// 5–100 characters.
    pub street: Cow<'j, str>,
    /// 2–50 characters.
    pub city: Cow<'j, str>,
    /// Exactly 2 characters.
    pub state: Cow<'j, str>,
    /// `12345` or `12345-6789`.
    pub zip_code: Cow<'j, str>,
    /// Defaults to `USA`.
    pub country: Cow<'j, str>,
}

impl<'j> Model<'j> for Address<'j> {
    fn read(r: &mut Reader<'j>) -> R<Option<Self>> {
        let (mut street, mut city, mut state, mut zip_code, mut country) = Default::default();
        if !r.object(
            &["street", "city", "state", "zip_code", "country"],
            |r, i| {
                match i {
                    0 => street = r.slot(|r| r.text(5, Some(100)))?,
                    1 => city = r.slot(|r| r.text(2, Some(50)))?,
                    2 => state = r.slot(|r| r.text(2, Some(2)))?,
                    3 => zip_code = r.slot(|r| r.matching(&ZIP))?,
                    _ => country = r.slot(Reader::str)?,
                }
                Ok(())
            },
        )? {
            return Ok(None);
        }
        let c = &mut r.c;
        let street = c.req("street", street);
        let city = c.req("city", city);
        let state = c.req("state", state);
        let zip_code = c.req("zip_code", zip_code);
        Ok((|| {
            Some(Self {
                street: street?,
                city: city?,
                state: state?,
                zip_code: zip_code?,
                country: opt(country)?.unwrap_or(Cow::Borrowed("USA")),
            })
        })())
    }
}

/// A preference value: string, integer or boolean.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Preference<'j> {
    /// Text.
    Text(Cow<'j, str>),
    /// Integer.
    Int(i64),
    /// Boolean.
    Bool(bool),
}

type Preferences<'j> = Members<'j, Preference<'j>>;

fn preferences<'j>(r: &mut Reader<'j>) -> R<Option<Preferences<'j>>> {
    map_of(r, |r| {
        Ok(match r.peek()? {
            Kind::String => r.str()?.map(Preference::Text),
            Kind::Bool => r.bool()?.map(Preference::Bool),
            Kind::Number => r.int()?.map(Preference::Int),
            _ => {
                r.c.fail("type", "expected a string, integer or boolean");
                r.skip()?;
                None
            }
        })
    })
}

/// A user with nested models and date-times.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComplexUser<'j> {
    /// At least 1.
    pub id: i64,
    /// The user's details.
    pub personal_info: AdvancedUser<'j>,
    /// Billing address.
    pub billing_address: Address<'j>,
    /// Shipping address, if different.
    pub shipping_address: Option<Address<'j>>,
    /// String, integer or boolean values; defaults to empty.
    pub preferences: Preferences<'j>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, if given.
    pub updated_at: Option<String>,
}

impl<'j> Model<'j> for ComplexUser<'j> {
    fn read(r: &mut Reader<'j>) -> R<Option<Self>> {
        const F: [&str; 7] = [
            "id",
            "personal_info",
            "billing_address",
            "shipping_address",
            "preferences",
            "created_at",
            "updated_at",
        ];
        let (mut id, mut personal_info, mut billing_address, mut shipping_address) =
            Default::default();
        let (mut prefs, mut created_at, mut updated_at) = Default::default();
        if !r.object(&F, |r, i| {
            match i {
                0 => id = r.slot(|r| r.int_in(Some(1), None))?,
                1 => personal_info = r.slot(AdvancedUser::read)?,
                2 => billing_address = r.slot(Address::read)?,
                3 => shipping_address = r.slot(Address::read)?,
                4 => prefs = r.slot(preferences)?,
                5 => created_at = r.slot(Reader::datetime)?,
                _ => updated_at = r.slot(Reader::datetime)?,
            }
            Ok(())
        })? {
            return Ok(None);
        }
        let c = &mut r.c;
        let id = c.req("id", id);
        let personal_info = c.req("personal_info", personal_info);
        let billing_address = c.req("billing_address", billing_address);
        let created_at = c.req("created_at", created_at);
        Ok((|| {
            Some(Self {
                id: id?,
                personal_info: personal_info?,
                billing_address: billing_address?,
                shipping_address: opt(shipping_address)?,
                preferences: opt(prefs)?.unwrap_or_default(),
                created_at: created_at?,
                updated_at: opt(updated_at)?,
            })
        })())
    }
}

/// The largest price a product or an order line may have (999,999.99): it
/// keeps every total and sum of a request far inside `Decimal`'s range.
pub const MAX_PRICE: Decimal = Decimal::from_parts(99_999_999, 0, 0, false, 2);

fn price_in(r: &mut Reader<'_>, min: Decimal, max: Option<Decimal>) -> R<Option<Decimal>> {
    Ok(r.decimal()?.filter(|d| {
        let ok = *d >= min && max.is_none_or(|m| *d <= m);
        if !ok {
            match max {
                Some(m) => {
                    r.c.fail("range", format!("must be at least {min} and at most {m}"))
                }
                None => r.c.fail("range", format!("must be at least {min}")),
            }
        }
        ok
    }))
}

/// Raw JSON text kept as sent (`variants` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawJson<'j>(pub &'j str);

impl Serialize for RawJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw: &serde_json::value::RawValue =
            serde_json::from_str(self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

type Variants<'j> = Vec<Members<'j, RawJson<'j>>>;

/// A catalogue product with an exact decimal price.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product<'j> {
    /// 1–200 characters.
    pub name: Cow<'j, str>,
    /// 0.01 to 999,999.99, exact; written as a string.
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
    /// Letters, digits, spaces, `-` and `_`.
    pub category: Cow<'j, str>,
    /// At most 1000 characters, if given.
    pub description: Option<Cow<'j, str>>,
    /// `[A-Z0-9-]+`.
    pub sku: Cow<'j, str>,
    /// Defaults to true.
    pub in_stock: bool,
    /// 0 to 100,000.
    pub stock_quantity: i64,
    /// Named measurements, if given.
    pub dimensions: Option<Members<'j, f64>>,
    /// Defaults to empty.
    pub tags: Vec<Cow<'j, str>>,
    /// Objects with any values, if given (kept as sent).
    pub variants: Option<Variants<'j>>,
}

fn dimensions<'j>(r: &mut Reader<'j>) -> R<Option<Members<'j, f64>>> {
    map_of(r, Reader::float)
}

fn variants<'j>(r: &mut Reader<'j>) -> R<Option<Variants<'j>>> {
    array_of(r, |r| map_of(r, |r| r.raw().map(|raw| Some(RawJson(raw)))))
}

impl<'j> Model<'j> for Product<'j> {
    fn read(r: &mut Reader<'j>) -> R<Option<Self>> {
        const F: [&str; 10] = [
            "name",
            "price",
            "category",
            "description",
            "sku",
            "in_stock",
            "stock_quantity",
            "dimensions",
            "tags",
            "variants",
        ];
        let (mut name, mut price, mut category, mut description, mut sku) = Default::default();
        let (mut in_stock, mut stock_quantity, mut dims, mut tags, mut vars) = Default::default();
        if !r.object(&F, |r, i| {
            match i {
                0 => name = r.slot(|r| r.text(1, Some(200)))?,
                1 => price = r.slot(|r| price_in(r, Decimal::new(1, 2), Some(MAX_PRICE)))?,
                2 => category = r.slot(|r| r.matching(&CATEGORY))?,
                3 => description = r.slot(|r| r.text(0, Some(1000)))?,
                4 => sku = r.slot(|r| r.matching(&SKU))?,
                5 => in_stock = r.slot(Reader::bool)?,
                6 => stock_quantity = r.slot(|r| r.int_in(Some(0), Some(100_000)))?,
                7 => dims = r.slot(dimensions)?,
                8 => tags = r.slot(strings)?,
                _ => vars = r.slot(variants)?,
            }
            Ok(())
        })? {
            return Ok(None);
        }
        let c = &mut r.c;
        let name = c.req("name", name);
        let price = c.req("price", price);
        let category = c.req("category", category);
        let sku = c.req("sku", sku);
        let stock_quantity = c.req("stock_quantity", stock_quantity);
        Ok((|| {
            Some(Self {
                name: name?,
                price: price?,
                category: category?,
                description: opt(description)?,
                sku: sku?,
                in_stock: opt(in_stock)?.unwrap_or(true),
                stock_quantity: stock_quantity?,
                dimensions: opt(dims)?,
                tags: opt(tags)?.unwrap_or_default(),
                variants: opt(vars)?,
            })
        })())
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderItem {
    /// At least 1.
    pub product_id: i64,
    /// 1 to 1000.
    pub quantity: i64,
    /// 0.01 to [`MAX_PRICE`], exact.
    #[serde(with = "rust_decimal::serde::str")]
    pub unit_price: Decimal,
}

impl<'j> Model<'j> for OrderItem {
    fn read(r: &mut Reader<'j>) -> R<Option<Self>> {
        let (mut product_id, mut quantity, mut unit_price) = Default::default();
        if !r.object(&["product_id", "quantity", "unit_price"], |r, i| {
            match i {
                0 => product_id = r.slot(|r| r.int_in(Some(1), None))?,
                1 => quantity = r.slot(|r| r.int_in(Some(1), Some(1000)))?,
                _ => unit_price = r.slot(|r| price_in(r, Decimal::new(1, 2), Some(MAX_PRICE)))?,
            }
            Ok(())
        })? {
            return Ok(None);
        }
        let c = &mut r.c;
        let product_id = c.req("product_id", product_id);
        let quantity = c.req("quantity", quantity);
        let unit_price = c.req("unit_price", unit_price);
        Ok((|| {
            Some(Self {
                product_id: product_id?,
                quantity: quantity?,
                unit_price: unit_price?,
            })
        })())
    }
}

/// An order; `total_amount` is computed when absent and checked when given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order<'j> {
    /// At least 1.
    pub id: i64,
    /// At least 1.
    pub customer_id: i64,
    /// At least one item.
    pub items: Vec<OrderItem>,
    /// Where it goes.
    pub shipping_address: Address<'j>,
    /// Billing address, if different.
    pub billing_address: Option<Address<'j>>,
    /// Σ quantity × unit_price; a given total must equal it.
    #[serde(with = "rust_decimal::serde::str")]
    pub total_amount: Decimal,
    /// Whether `total_amount` was computed here.
    pub total_computed: bool,
    /// RFC 3339.
    pub order_date: String,
    /// pending, confirmed, shipped, delivered or cancelled.
    pub status: Cow<'j, str>,
}

impl<'j> Model<'j> for Order<'j> {
    fn read(r: &mut Reader<'j>) -> R<Option<Self>> {
        const F: [&str; 8] = [
            "id",
            "customer_id",
            "items",
            "shipping_address",
            "billing_address",
            "total_amount",
            "order_date",
            "status",
        ];
        let (mut id, mut customer_id, mut items, mut shipping, mut billing) = Default::default();
        let (mut total, mut order_date, mut status) = Default::default();
        if !r.object(&F, |r, i| {
            match i {
                0 => id = r.slot(|r| r.int_in(Some(1), None))?,
                1 => customer_id = r.slot(|r| r.int_in(Some(1), None))?,
                2 => items = r.slot(|r| list::<OrderItem>(r, 1))?,
                3 => shipping = r.slot(Address::read)?,
                4 => billing = r.slot(Address::read)?,
                5 => total = r.slot(|r| price_in(r, Decimal::ZERO, None))?,
                6 => order_date = r.slot(Reader::datetime)?,
                _ => status = r.slot(|r| r.matching(&STATUS))?,
            }
            Ok(())
        })? {
            return Ok(None);
        }
        let c = &mut r.c;
        let id = c.req("id", id);
        let customer_id = c.req("customer_id", customer_id);
        let items = c.req("items", items);
        let shipping = c.req("shipping_address", shipping);
        let order_date = c.req("order_date", order_date);
        let status = c.req("status", status);
        let (Some(items), Some(given)) = (items, opt(total)) else {
            return Ok(None);
        };
        let sum = items.iter().try_fold(Decimal::ZERO, |acc, i| {
            acc.checked_add(Decimal::from(i.quantity).checked_mul(i.unit_price)?)
        });
        let Some(sum) = sum else {
            c.field("total_amount", |c| {
                c.fail("range", "the order total overflows")
            });
            return Ok(None);
        };
        if let Some(t) = given.filter(|t| *t != sum) {
            c.field("total_amount", |c| {
                c.fail(
                    "total_mismatch",
                    format!("{t} is not the sum of quantity × unit_price ({sum})"),
                )
            });
            return Ok(None);
        }
        Ok((|| {
            Some(Self {
                id: id?,
                customer_id: customer_id?,
                items,
                shipping_address: shipping?,
                billing_address: opt(billing)?,
                total_amount: given.unwrap_or(sum),
                total_computed: given.is_none(),
                order_date: order_date?,
                status: status?,
            })
        })())
    }
}

/// Users, products and orders in one envelope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MegaBatch<'j> {
    /// Advanced users.
    pub users: Vec<AdvancedUser<'j>>,
    /// Products.
    pub products: Vec<Product<'j>>,
    /// Orders.
    pub orders: Vec<Order<'j>>,
    /// RFC 3339.
    pub timestamp: String,
    /// `[A-Z0-9-]+`.
    pub batch_id: Cow<'j, str>,
}

impl<'j> Model<'j> for MegaBatch<'j> {
    fn read(r: &mut Reader<'j>) -> R<Option<Self>> {
        let (mut users, mut products, mut orders, mut timestamp, mut batch_id) = Default::default();
        if !r.object(
            &["users", "products", "orders", "timestamp", "batch_id"],
            |r, i| {
                match i {
                    0 => users = r.slot(|r| list(r, 0))?,
                    1 => products = r.slot(|r| list(r, 0))?,
                    2 => orders = r.slot(|r| list(r, 0))?,
                    3 => timestamp = r.slot(Reader::datetime)?,
                    _ => batch_id = r.slot(|r| r.matching(&SKU))?,
                }
                Ok(())
            },
        )? {
            return Ok(None);
        }
        let c = &mut r.c;
        let users = c.req("users", users);
        let products = c.req("products", products);
        let orders = c.req("orders", orders);
        let timestamp = c.req("timestamp", timestamp);
        let batch_id = c.req("batch_id", batch_id);
        Ok((|| {
            Some(Self {
                users: users?,
                products: products?,
                orders: orders?,
                timestamp: timestamp?,
                batch_id: batch_id?,
            })
        })())
    }
}

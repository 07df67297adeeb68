//! Orders: requests validated against the catalog (prices come from it, a
//! client total must agree), stock reserved for all items at once, and the
//! newest orders retained in a bounded log with evictions counted.

use super::catalog::{Catalog, Shortage};
use super::wire::{serialize_time, Money};
use crate::sync::{read, write};
use crate::{FieldError, ValidationFailure};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::{to_raw_value, RawValue};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};

/// Most items in one order.
pub const MAX_ITEMS: usize = 50;
/// Most units of one product in one order.
pub const MAX_QUANTITY: u32 = 1000;
/// Largest address, as JSON, in bytes.
pub const MAX_ADDRESS_BYTES: usize = 1024;
/// What a retained order costs beyond its addresses and lines.
const ORDER_OVERHEAD: usize = 256;
/// What one line costs.
const LINE_COST: usize = 64;
const ADDRESS_REQUIRED: [&str; 4] = ["street", "city", "zip_code", "country"];
const PAYMENT_METHODS: [&str; 3] = ["credit_card", "paypal", "bank_transfer"];
const STATUSES: [&str; 6] = [
    "pending",
    "confirmed",
    "processing",
    "shipped",
    "delivered",
    "cancelled",
];

/// One line of an order request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRequest {
    /// An existing product.
    pub product_id: i64,
    /// 1..=1000 units.
    pub quantity: i64,
}

/// `POST /api/orders` as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    /// When given, must be the ordering user.
    #[serde(default)]
    pub user_id: Option<i64>,
    /// When given, must be `pending`: orders start there.
    #[serde(default)]
    pub status: Option<String>,
    /// When given, must equal the catalog total to the cent.
    #[serde(default)]
    pub total_amount: Option<f64>,
    /// `street`, `city`, `zip_code`, `country` required; `state` optional.
    pub shipping_address: BTreeMap<String, String>,
    /// Defaults to the shipping address.
    #[serde(default)]
    pub billing_address: Option<BTreeMap<String, String>>,
    /// 1..=50 lines, distinct products.
    pub items: Vec<ItemRequest>,
    /// `credit_card`, `paypal` or `bank_transfer`.
    pub payment_method: String,
}

/// Why an order was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The request breaks a rule.
    #[error("invalid order: {0}")]
    Invalid(ValidationFailure),
    /// `user_id` names someone else.
    #[error("user {acting} cannot order for user {claimed}")]
    WrongUser {
        /// The ordering user.
        acting: u32,
        /// What the body said.
        claimed: i64,
    },
    /// Some items are short; nothing was taken.
    #[error("not enough stock, nothing was reserved: {}", list(.0))]
    OutOfStock(Vec<Shortage>),
}

/// The shortages, `; `-separated.
fn list(short: &[Shortage]) -> String {
    let each: Vec<String> = short.iter().map(Shortage::to_string).collect();
    each.join("; ")
}

/// One priced line of an order.
#[derive(Debug, Clone)]
pub struct OrderLine {
    /// The product.
    pub product_id: u32,
    /// Its name (shared with the catalog).
    pub name: Arc<str>,
    /// Units.
    pub quantity: u32,
    /// Catalog price per unit.
    pub unit_price: Decimal,
}

impl OrderLine {
    /// `quantity × unit_price`.
    pub fn line_total(&self) -> Decimal {
        self.unit_price * Decimal::from(self.quantity)
    }
}

impl Serialize for OrderLine {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry("product_id", &self.product_id)?;
        map.serialize_entry("name", &*self.name)?;
        map.serialize_entry("quantity", &self.quantity)?;
        map.serialize_entry("unit_price", &Money(&self.unit_price))?;
        map.serialize_entry("line_total", &Money(&self.line_total()))?;
        map.end()
    }
}

/// A placed order.
#[derive(Debug, Clone)]
pub struct Order {
    /// Sequential from 1.
    pub id: u64,
    /// Who placed it.
    pub user_id: u32,
    /// Always `pending` here: nothing moves orders further yet.
    pub status: &'static str,
    /// Priced lines.
    pub items: Vec<OrderLine>,
    /// Sum of the lines.
    pub total_amount: Decimal,
    /// Where it goes, as JSON (kept as text: orders are many).
    pub shipping_address: Box<RawValue>,
    /// Who pays; `None` when it is the shipping address.
    pub billing_address: Option<Box<RawValue>>,
    /// How.
    pub payment_method: &'static str,
    /// When it was placed.
    pub created_at: DateTime<Utc>,
}

impl Serialize for Order {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(10))?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("user_id", &self.user_id)?;
        map.serialize_entry("status", self.status)?;
        map.serialize_entry("items", &self.items)?;
        map.serialize_entry("item_count", &self.items.len())?;
        map.serialize_entry("total_amount", &Money(&self.total_amount))?;
        map.serialize_entry("shipping_address", &self.shipping_address)?;
        let billing = self
            .billing_address
            .as_ref()
            .unwrap_or(&self.shipping_address);
        map.serialize_entry("billing_address", billing)?;
        map.serialize_entry("payment_method", &self.payment_method)?;
        serialize_time(&mut map, "created_at", &self.created_at)?;
        map.end()
    }
}

fn check_address(name: &str, address: &BTreeMap<String, String>, errors: &mut Vec<FieldError>) {
    for key in ADDRESS_REQUIRED {
        if !address.contains_key(key) {
            errors.push(FieldError::new(
                format!("{name}.{key}"),
                "required",
                "is required",
            ));
        }
    }
    if address.len() > 10 {
        errors.push(FieldError::new(name, "length", "at most 10 fields"));
    }
    for (key, value) in address {
        if key.is_empty() || key.len() > 50 {
            errors.push(FieldError::new(
                name,
                "length",
                "field names are 1 to 50 characters",
            ));
        } else if value.trim().is_empty() || value.chars().count() > 200 {
            errors.push(FieldError::new(
                format!("{name}.{key}"),
                "length",
                "must be 1 to 200 characters, not blank",
            ));
        }
    }
}

/// A request that passed validation: distinct products with quantities.
#[derive(Debug, Clone)]
pub struct ValidOrder {
    lines: Vec<(u32, u32)>,
    shipping: Box<RawValue>,
    billing: Option<Box<RawValue>>,
    payment_method: &'static str,
    total: Decimal,
}

impl OrderRequest {
    /// Checks every rule against the catalog, reporting every failing field;
    /// `user` is who is ordering.
    pub fn validate(self, catalog: &Catalog, user: u32) -> Result<ValidOrder, OrderError> {
        if let Some(claimed) = self.user_id {
            if claimed != i64::from(user) {
                return Err(OrderError::WrongUser {
                    acting: user,
                    claimed,
                });
            }
        }
        let mut errors = Vec::new();
        if let Some(status) = &self.status {
            if !STATUSES.contains(&status.as_str()) {
                errors.push(FieldError::new(
                    "status",
                    "pattern",
                    format!("must be one of {}", STATUSES.join(", ")),
                ));
            } else if status != "pending" {
                errors.push(FieldError::new(
                    "status",
                    "initial_status",
                    "new orders start as pending",
                ));
            }
        }
        let payment_method = PAYMENT_METHODS
            .iter()
            .copied()
            .find(|m| *m == self.payment_method);
        if payment_method.is_none() {
            errors.push(FieldError::new(
                "payment_method",
                "pattern",
                format!("must be one of {}", PAYMENT_METHODS.join(", ")),
            ));
        }
        check_address("shipping_address", &self.shipping_address, &mut errors);
        if let Some(billing) = &self.billing_address {
            check_address("billing_address", billing, &mut errors);
        }
        if self.items.is_empty() || self.items.len() > MAX_ITEMS {
            errors.push(FieldError::new(
                "items",
                "length",
                format!("must hold 1 to {MAX_ITEMS} items"),
            ));
        }
        let mut lines = Vec::with_capacity(self.items.len());
        let mut total = Decimal::ZERO;
        let mut seen = std::collections::HashSet::new();
        for (k, item) in self.items.iter().enumerate() {
            let product = u32::try_from(item.product_id)
                .ok()
                .and_then(|id| catalog.seed(id));
            let quantity = u32::try_from(item.quantity)
                .ok()
                .filter(|q| (1..=MAX_QUANTITY).contains(q));
            match product {
                None => errors.push(FieldError::new(
                    format!("items[{k}].product_id"),
                    "unknown_product",
                    format!("no product {}", item.product_id),
                )),
                Some(p) if !seen.insert(p.id) => errors.push(FieldError::new(
                    format!("items[{k}].product_id"),
                    "duplicate",
                    format!("product {} is already in the order", p.id),
                )),
                Some(p) => {
                    if let Some(q) = quantity {
                        lines.push((p.id, q));
                        total += p.price * Decimal::from(q);
                    }
                }
            }
            if quantity.is_none() {
                errors.push(FieldError::new(
                    format!("items[{k}].quantity"),
                    "range",
                    format!("must be from 1 to {MAX_QUANTITY}"),
                ));
            }
        }
        if let Some(given) = self.total_amount {
            // The shortest text of the number is what the client wrote.
            let amount = format!("{given}")
                .parse::<Decimal>()
                .ok()
                .map(|d| d.normalize());
            match amount {
                Some(a) if a >= Decimal::ZERO && a.scale() <= 2 => {
                    if errors.is_empty() && a != total {
                        errors.push(FieldError::new(
                            "total_amount",
                            "total_mismatch",
                            format!("the catalog total is {total}, the order says {a}"),
                        ));
                    }
                }
                _ => errors.push(FieldError::new(
                    "total_amount",
                    "decimal",
                    "must be a non-negative amount with at most 2 decimal places",
                )),
            }
        }
        let shipping = to_raw_value(&self.shipping_address);
        let billing = match &self.billing_address {
            Some(b) if *b != self.shipping_address => to_raw_value(b).map(Some),
            _ => Ok(None),
        };
        let too_large = |name: &str, raw: Option<&RawValue>, errors: &mut Vec<FieldError>| {
            if raw.is_some_and(|r| r.get().len() > MAX_ADDRESS_BYTES) {
                errors.push(FieldError::new(
                    name,
                    "size",
                    format!("at most {MAX_ADDRESS_BYTES} bytes as JSON"),
                ));
            }
        };
        too_large("shipping_address", shipping.as_deref().ok(), &mut errors);
        too_large(
            "billing_address",
            billing.as_ref().ok().and_then(|b| b.as_deref()),
            &mut errors,
        );
        match (shipping, billing, payment_method) {
            (Ok(shipping), Ok(billing), Some(payment_method)) if errors.is_empty() => {
                Ok(ValidOrder {
                    shipping,
                    billing,
                    payment_method,
                    lines,
                    total,
                })
            }
            _ => Err(OrderError::Invalid(ValidationFailure { errors })),
        }
    }
}

struct Log {
    /// Id of `orders[0]`.
    first: u64,
    orders: VecDeque<Arc<Order>>,
    bytes: usize,
    evicted: u64,
}

impl Order {
    /// Estimated bytes it holds.
    fn cost(&self) -> usize {
        ORDER_OVERHEAD
            + self.items.len() * LINE_COST
            + self.shipping_address.get().len()
            + self.billing_address.as_ref().map_or(0, |b| b.get().len())
    }
}

/// The bounded order log.
pub struct Orders {
    log: RwLock<Log>,
    retain: usize,
    retain_bytes: usize,
}

/// Counts for health and stats.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct OrderCounts {
    /// Orders placed since start.
    pub placed: u64,
    /// Still retained.
    pub retained: usize,
    /// Dropped to keep memory bounded.
    pub evicted: u64,
    /// Estimated bytes of the retained orders.
    pub retained_bytes: usize,
}

impl Orders {
    /// A log keeping the newest orders, at most `retain` of them and about
    /// `retain_bytes` bytes.
    pub fn new(retain: usize, retain_bytes: usize) -> Self {
        Self {
            log: RwLock::new(Log {
                first: 1,
                orders: VecDeque::new(),
                bytes: 0,
                evicted: 0,
            }),
            retain: retain.max(1),
            retain_bytes,
        }
    }

    /// Reserves stock and records the order for `user`.
    pub fn place(
        &self,
        catalog: &Catalog,
        user: u32,
        order: ValidOrder,
    ) -> Result<Arc<Order>, OrderError> {
        catalog
            .reserve(&order.lines)
            .map_err(OrderError::OutOfStock)?;
        let items = order
            .lines
            .iter()
            .filter_map(|&(id, quantity)| {
                let p = catalog.seed(id)?;
                Some(OrderLine {
                    product_id: id,
                    name: p.name.clone(),
                    quantity,
                    unit_price: p.price,
                })
            })
            .collect();
        let mut log = write(&self.log);
        let id = log.first + log.orders.len() as u64;
        let placed = Arc::new(Order {
            id,
            user_id: user,
            status: "pending",
            items,
            total_amount: order.total,
            shipping_address: order.shipping,
            billing_address: order.billing,
            payment_method: order.payment_method,
            created_at: Utc::now(),
        });
        log.bytes += placed.cost();
        log.orders.push_back(placed.clone());
        while log.orders.len() > 1
            && (log.orders.len() > self.retain || log.bytes > self.retain_bytes)
        {
            if let Some(old) = log.orders.pop_front() {
                log.bytes -= old.cost();
                log.first += 1;
                log.evicted += 1;
            }
        }
        Ok(placed)
    }

    /// Order `id`, if placed and still retained.
    pub fn get(&self, id: u64) -> Option<Arc<Order>> {
        let log = read(&self.log);
        let k = id.checked_sub(log.first)?;
        log.orders.get(usize::try_from(k).ok()?).cloned()
    }

    /// Whether `id` was placed but has been evicted.
    pub fn was_evicted(&self, id: u64) -> bool {
        let log = read(&self.log);
        id >= 1 && id < log.first
    }

    /// Placed, retained and evicted counts.
    pub fn counts(&self) -> OrderCounts {
        let log = read(&self.log);
        OrderCounts {
            placed: log.first - 1 + log.orders.len() as u64,
            retained: log.orders.len(),
            evicted: log.evicted,
            retained_bytes: log.bytes,
        }
    }
}

//! The product catalog: fixed product data with precomputed orderings and
//! filter bitsets, live stock behind one lock per product (reserved in id
//! order, all items or none), and view and sales counts with a popularity
//! ordering kept up to date as they change.

use super::search::{Bits, WordIndex};
use super::seed::{self, ProductSeed};
use super::wire::{serialize_time, Money};
use super::Page;
use crate::sync::lock;
use crate::FieldError;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

/// What a listing sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Name, byte-wise.
    Name,
    /// Catalog price.
    Price,
    /// Creation time.
    CreatedAt,
    /// Views plus ten per unit sold, live.
    Popularity,
}

impl SortKey {
    /// Parses `name`, `price`, `created_at` or `popularity`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "name" => Self::Name,
            "price" => Self::Price,
            "created_at" => Self::CreatedAt,
            "popularity" => Self::Popularity,
            _ => return None,
        })
    }
}

/// A product listing request, already validated.
#[derive(Debug, Clone)]
pub struct ProductQuery {
    /// 1-based page.
    pub page: usize,
    /// Page size.
    pub limit: usize,
    /// Only this category.
    pub category_id: Option<u8>,
    /// Words that must each prefix a word of the name, brand or tags.
    pub search: Option<String>,
    /// Sort key.
    pub sort_by: SortKey,
    /// The ascending order (key, then id) reversed.
    pub descending: bool,
}

/// Units sold count ten times a view in the popularity.
const SALE_WEIGHT: u64 = 10;

struct Live {
    views: Vec<u64>,
    sold: Vec<u64>,
    /// (popularity, id), ascending.
    by_popularity: BTreeSet<(u64, u32)>,
}

impl Live {
    fn popularity(&self, i: usize) -> u64 {
        self.views[i] + SALE_WEIGHT * self.sold[i]
    }

    fn change(&mut self, i: usize, f: impl FnOnce(&mut Self)) {
        let id = i as u32 + 1;
        self.by_popularity.remove(&(self.popularity(i), id));
        f(self);
        self.by_popularity.insert((self.popularity(i), id));
    }
}

/// A line that could not be served in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    /// Index of the item in the order.
    pub item: usize,
    /// The product.
    pub product_id: u32,
    /// What the order asked for.
    pub requested: u32,
    /// What was in stock.
    pub available: u32,
}

impl Shortage {
    /// As a field error on `items[i].quantity`.
    pub fn field_error(&self) -> FieldError {
        FieldError::new(
            format!("items[{}].quantity", self.item),
            "insufficient_stock",
            self.to_string(),
        )
    }
}

impl std::fmt::Display for Shortage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "product {} has {} in stock, {} requested",
            self.product_id, self.available, self.requested
        )
    }
}

/// The seeded catalog with its indexes and live counters.
pub struct Catalog {
    products: Vec<ProductSeed>,
    stock: Vec<Mutex<u32>>,
    live: Mutex<Live>,
    by_name: Vec<u32>,
    by_price: Vec<u32>,
    by_created: Vec<u32>,
    categories: Vec<Bits>,
    words: WordIndex,
}

impl Catalog {
    /// Seeds the 1,000 products and builds the indexes.
    pub fn seeded() -> Self {
        let products: Vec<ProductSeed> = (1..=seed::PRODUCTS).map(seed::product).collect();
        let n = products.len();
        let ordering = |key: &dyn Fn(&ProductSeed, &ProductSeed) -> std::cmp::Ordering| {
            let mut ids: Vec<u32> = products.iter().map(|p| p.id).collect();
            ids.sort_by(|&a, &b| {
                let (pa, pb) = (&products[a as usize - 1], &products[b as usize - 1]);
                key(pa, pb).then(a.cmp(&b))
            });
            ids
        };
        let by_name = ordering(&|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        let by_price = ordering(&|a, b| a.price.cmp(&b.price));
        let by_created = ordering(&|a, b| a.created_at.cmp(&b.created_at));
        let mut categories = vec![Bits::empty(n); seed::CATEGORIES.len()];
        for (i, p) in products.iter().enumerate() {
            categories[usize::from(p.category_id) - 1].insert(i);
        }
        let words = WordIndex::build(
            products
                .iter()
                .map(|p| [&*p.name, p.brand, p.tags[0].as_str(), p.tags[1].as_str()]),
        );
        let views: Vec<u64> = products.iter().map(|p| p.views).collect();
        let live = Live {
            by_popularity: views
                .iter()
                .enumerate()
                .map(|(i, &v)| (v, i as u32 + 1))
                .collect(),
            sold: vec![0; n],
            views,
        };
        Self {
            stock: products.iter().map(|p| Mutex::new(p.stock)).collect(),
            live: Mutex::new(live),
            products,
            by_name,
            by_price,
            by_created,
            categories,
            words,
        }
    }

    /// Number of products.
    pub fn len(&self) -> usize {
        self.products.len()
    }

    /// Whether the catalog is empty (never, once seeded).
    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    fn index(&self, id: u32) -> Option<usize> {
        let i = (id as usize).checked_sub(1)?;
        (i < self.products.len()).then_some(i)
    }

    /// The fixed data of product `id`.
    pub fn seed(&self, id: u32) -> Option<&ProductSeed> {
        self.index(id).map(|i| &self.products[i])
    }

    /// Product `id` as it is now.
    pub fn get(&self, id: u32) -> Option<ProductView<'_>> {
        let i = self.index(id)?;
        let live = lock(&self.live);
        Some(self.view(i, &live))
    }

    /// Records one view of product `id` and returns it with the new count.
    pub fn view_once(&self, id: u32) -> Option<ProductView<'_>> {
        let i = self.index(id)?;
        let mut live = lock(&self.live);
        live.change(i, |l| l.views[i] += 1);
        Some(self.view(i, &live))
    }

    fn view(&self, i: usize, live: &Live) -> ProductView<'_> {
        ProductView {
            product: &self.products[i],
            stock: *lock(&self.stock[i]),
            views: live.views[i],
            sold: live.sold[i],
        }
    }

    /// One page of products matching `q`, with the total that match.
    pub fn list(&self, q: &ProductQuery) -> Page<ProductView<'_>> {
        let n = self.products.len();
        let mut matching = match q.category_id {
            Some(c) => self
                .categories
                .get(usize::from(c).wrapping_sub(1))
                .cloned()
                .unwrap_or_else(|| Bits::empty(n)),
            None => Bits::full(n),
        };
        if let Some(search) = &q.search {
            match self.words.search(search) {
                Some(found) => matching.intersect(&found),
                None => matching = Bits::empty(n),
            }
        }
        let total = matching.count();
        let skip = (q.page - 1).saturating_mul(q.limit);
        let pick = |ids: &mut dyn Iterator<Item = u32>| -> Vec<usize> {
            ids.map(|id| id as usize - 1)
                .filter(|&i| matching.contains(i))
                .skip(skip)
                .take(q.limit)
                .collect()
        };
        let live = lock(&self.live);
        let picked = match q.sort_by {
            SortKey::Popularity => {
                let ids = live.by_popularity.iter().map(|&(_, id)| id);
                if q.descending {
                    pick(&mut ids.rev())
                } else {
                    pick(&mut ids.into_iter())
                }
            }
            key => {
                let order = match key {
                    SortKey::Name => &self.by_name,
                    SortKey::Price => &self.by_price,
                    _ => &self.by_created,
                };
                if q.descending {
                    pick(&mut order.iter().rev().copied())
                } else {
                    pick(&mut order.iter().copied())
                }
            }
        };
        let items = picked.into_iter().map(|i| self.view(i, &live)).collect();
        Page::new(items, total, q.page, q.limit)
    }

    /// Takes every `(product_id, quantity)` from stock, or nothing: the
    /// product locks are taken in id order, so concurrent orders cannot
    /// deadlock and stock never goes below zero. Ids must exist and be
    /// distinct. On success the units count as sold.
    pub fn reserve(&self, lines: &[(u32, u32)]) -> Result<(), Vec<Shortage>> {
        let mut order: Vec<usize> = (0..lines.len()).collect();
        order.sort_by_key(|&k| lines[k].0);
        let mut guards: Vec<(usize, MutexGuard<'_, u32>)> = Vec::with_capacity(lines.len());
        for &k in &order {
            let Some(i) = self.index(lines[k].0) else {
                continue;
            };
            guards.push((k, lock(&self.stock[i])));
        }
        let short: Vec<Shortage> = guards
            .iter()
            .filter(|(k, stock)| **stock < lines[*k].1)
            .map(|(k, stock)| Shortage {
                item: *k,
                product_id: lines[*k].0,
                requested: lines[*k].1,
                available: **stock,
            })
            .collect();
        if !short.is_empty() {
            let mut short = short;
            short.sort_by_key(|s| s.item);
            return Err(short);
        }
        for (k, stock) in &mut guards {
            **stock -= lines[*k].1;
        }
        drop(guards);
        let mut live = lock(&self.live);
        for &(id, qty) in lines {
            if let Some(i) = self.index(id) {
                live.change(i, |l| l.sold[i] += u64::from(qty));
            }
        }
        Ok(())
    }
}

/// A product with its live stock, views and sales, serialized for clients.
#[derive(Debug, Clone)]
pub struct ProductView<'a> {
    /// The fixed data.
    pub product: &'a ProductSeed,
    /// Units in stock now.
    pub stock: u32,
    /// Views so far.
    pub views: u64,
    /// Units sold since start.
    pub sold: u64,
}

impl Serialize for ProductView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.product;
        let mut map = s.serialize_map(Some(16))?;
        map.serialize_entry("id", &p.id)?;
        map.serialize_entry("name", &*p.name)?;
        map.serialize_entry("description", &p.description)?;
        map.serialize_entry("price", &Money(&p.price))?;
        map.serialize_entry("category_id", &p.category_id)?;
        map.serialize_entry("category", seed::CATEGORIES[usize::from(p.category_id) - 1])?;
        map.serialize_entry("brand", p.brand)?;
        map.serialize_entry("sku", &p.sku)?;
        map.serialize_entry("stock_quantity", &self.stock)?;
        map.serialize_entry("is_featured", &p.is_featured)?;
        map.serialize_entry("tags", &p.tags)?;
        map.serialize_entry("images", &[&p.image])?;
        map.serialize_entry("views", &self.views)?;
        map.serialize_entry("sold", &self.sold)?;
        map.serialize_entry("popularity", &(self.views + SALE_WEIGHT * self.sold))?;
        serialize_time(&mut map, "created_at", &p.created_at)?;
        map.end()
    }
}

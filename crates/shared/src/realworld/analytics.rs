//! Analytics: tracked events fold into per-day aggregates as they arrive
//! (counts by type, page views per page, distinct sessions, orders and
//! revenue), so a dashboard never replays raw events. Memory stays bounded
//! under an endless track load: days leave a sliding window, distinct
//! (day, page) and (day, session) entries share a budget (what does not fit
//! is counted as untracked), and only the newest raw events are retained.
//! A day's distinct pages and sessions are persistent maps (`imbl`): a
//! dashboard clones them under the lock in O(1) and merges outside it, so
//! tracking never waits for a merge of the whole key budget.

use super::wire::{money, serialize_time};
use crate::sync::lock;
use crate::{FieldError, ValidationFailure};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// A day's page views per page, shared with dashboards in progress.
type PageCounts = imbl::HashMap<String, u64>;
/// A day's distinct sessions, shared with dashboards in progress.
type Sessions = imbl::HashSet<String>;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Event types, in the order dashboards list them.
pub const EVENT_TYPES: [&str; 5] = ["page_view", "click", "purchase", "signup", "login"];
/// Most properties per event.
pub const MAX_PROPERTIES: usize = 32;
/// Largest serialized `properties` object, in bytes.
pub const MAX_PROPERTIES_BYTES: usize = 2048;
/// Entries in `top_pages`.
pub const TOP_PAGES: usize = 10;

/// What one distinct (day, page) or (day, session) entry costs beyond its
/// text: hash-table slot, allocation, count.
const KEY_OVERHEAD: usize = 64;
/// What one retained raw event costs beyond its texts.
const EVENT_OVERHEAD: usize = 160;

/// Memory bounds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct AnalyticsLimits {
    /// Days kept, counting back from today; older timestamps are refused.
    pub window_days: u32,
    /// Raw events retained (the newest), at most.
    pub retained_events: usize,
    /// Bytes of retained raw events, at most.
    pub retained_event_bytes: usize,
    /// Bytes of distinct (day, page) and (day, session) entries; past it
    /// the oldest days are summarized (their top pages and session count
    /// kept, their entries dropped).
    pub key_bytes: usize,
}

impl Default for AnalyticsLimits {
    fn default() -> Self {
        Self {
            window_days: 3650,
            retained_events: 10_000,
            retained_event_bytes: 16 << 20,
            key_bytes: 32 << 20,
        }
    }
}

/// `POST /api/analytics/track` as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// One of [`EVENT_TYPES`].
    pub event_type: String,
    /// A user, when known (≥ 1).
    #[serde(default)]
    pub user_id: Option<i64>,
    /// 1..128 characters.
    pub session_id: String,
    /// 1..2048 characters.
    pub page_url: String,
    /// At most 2048 characters.
    #[serde(default)]
    pub referrer: Option<String>,
    /// 1..512 characters.
    pub user_agent: String,
    /// An IPv4 or IPv6 address.
    pub ip_address: String,
    /// At most 32 keys, 2 KiB serialized.
    #[serde(default)]
    pub properties: Option<Map<String, Value>>,
    /// RFC 3339; defaults to now; within the window and at most a day ahead.
    #[serde(default)]
    pub timestamp: Option<String>,
}

/// A recorded event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Sequential from 1.
    pub id: u64,
    /// Index into [`EVENT_TYPES`].
    pub kind: usize,
    /// The user, when given.
    pub user_id: Option<u32>,
    /// The session.
    pub session_id: String,
    /// The page.
    pub page_url: String,
    /// Where the visitor came from.
    pub referrer: Option<String>,
    /// The client.
    pub user_agent: String,
    /// Its address.
    pub ip_address: IpAddr,
    /// Properties, as JSON text.
    pub properties: Box<RawValue>,
    /// When it happened.
    pub at: DateTime<Utc>,
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(10))?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("event_type", EVENT_TYPES[self.kind])?;
        map.serialize_entry("user_id", &self.user_id)?;
        map.serialize_entry("session_id", &self.session_id)?;
        map.serialize_entry("page_url", &self.page_url)?;
        map.serialize_entry("referrer", &self.referrer)?;
        map.serialize_entry("user_agent", &self.user_agent)?;
        map.serialize_entry("ip_address", &self.ip_address)?;
        map.serialize_entry("properties", &self.properties)?;
        serialize_time(&mut map, "timestamp", &self.at)?;
        map.end()
    }
}

/// Lengths are in bytes: they bound memory.
fn check_len(errors: &mut Vec<FieldError>, field: &str, value: &str, min: usize, max: usize) {
    let n = value.len();
    if n < min || n > max || (min > 0 && value.trim().is_empty()) {
        errors.push(FieldError::new(
            field,
            "length",
            format!("must be {min} to {max} bytes"),
        ));
    }
}

fn day_of(t: &DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(86_400)
}

fn date_of(day: i64) -> NaiveDate {
    DateTime::from_timestamp(day * 86_400, 0)
        .unwrap_or_default()
        .date_naive()
}

impl EventRequest {
    /// Checks every field; `now` and `window_days` bound the timestamp.
    pub fn validate(
        self,
        now: DateTime<Utc>,
        window_days: u32,
    ) -> Result<Event, ValidationFailure> {
        let mut errors = Vec::new();
        let kind = EVENT_TYPES.iter().position(|t| *t == self.event_type);
        if kind.is_none() {
            errors.push(FieldError::new(
                "event_type",
                "pattern",
                format!("must be one of {}", EVENT_TYPES.join(", ")),
            ));
        }
        let user_id = match self.user_id {
            None => None,
            Some(u) => match u32::try_from(u).ok().filter(|u| *u >= 1) {
                Some(u) => Some(u),
                None => {
                    errors.push(FieldError::new("user_id", "range", "must be at least 1"));
                    None
                }
            },
        };
        check_len(&mut errors, "session_id", &self.session_id, 1, 128);
        check_len(&mut errors, "page_url", &self.page_url, 1, 2048);
        if let Some(r) = &self.referrer {
            check_len(&mut errors, "referrer", r, 0, 2048);
        }
        check_len(&mut errors, "user_agent", &self.user_agent, 1, 512);
        let ip = self.ip_address.parse::<IpAddr>();
        if ip.is_err() {
            errors.push(FieldError::new(
                "ip_address",
                "ip_address",
                "must be an IPv4 or IPv6 address",
            ));
        }
        let properties = self.properties.unwrap_or_default();
        let raw = serde_json::value::to_raw_value(&properties);
        let size = raw.as_ref().map_or(usize::MAX, |r| r.get().len());
        if properties.len() > MAX_PROPERTIES || size > MAX_PROPERTIES_BYTES {
            errors.push(FieldError::new(
                "properties",
                "size",
                format!("at most {MAX_PROPERTIES} keys and {MAX_PROPERTIES_BYTES} bytes"),
            ));
        }
        let at = match &self.timestamp {
            None => now,
            Some(t) => match DateTime::parse_from_rfc3339(t) {
                Ok(t) => {
                    let t = t.with_timezone(&Utc);
                    let oldest = day_of(&now) - i64::from(window_days) + 1;
                    if day_of(&t) < oldest || t > now + Duration::days(1) {
                        errors.push(FieldError::new(
                            "timestamp",
                            "range",
                            format!("must be from {} to one day ahead", date_of(oldest)),
                        ));
                    }
                    t
                }
                Err(_) => {
                    errors.push(FieldError::new(
                        "timestamp",
                        "datetime",
                        "must be an RFC 3339 date-time",
                    ));
                    now
                }
            },
        };
        match (kind, ip, raw) {
            (Some(kind), Ok(ip_address), Ok(properties)) if errors.is_empty() => Ok(Event {
                id: 0,
                kind,
                user_id,
                session_id: self.session_id,
                page_url: self.page_url,
                referrer: self.referrer,
                user_agent: self.user_agent,
                ip_address,
                properties,
                at,
            }),
            _ => Err(ValidationFailure { errors }),
        }
    }
}

/// What stays of a day whose distinct entries were dropped for room.
#[derive(Debug, Default)]
struct Summary {
    sessions: usize,
    top_pages: Vec<(String, u64)>,
}

#[derive(Default)]
struct Day {
    by_type: [u64; 5],
    page_views: PageCounts,
    sessions: Sessions,
    key_bytes: usize,
    summary: Option<Summary>,
    orders: u64,
    revenue: Decimal,
}

/// The [`TOP_PAGES`] largest counts: count descending, then key.
fn top_n<K: Ord>(counts: impl IntoIterator<Item = (K, u64)>) -> Vec<(K, u64)> {
    let mut top: Vec<(K, u64)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(TOP_PAGES);
    top
}

impl Day {
    /// Drops the distinct entries, keeping the top pages and the session
    /// count; returns the bytes freed.
    fn summarize(&mut self) -> usize {
        let mut summary = self.summary.take().unwrap_or_default();
        summary.sessions += self.sessions.len();
        let mut pages: HashMap<String, u64> = summary.top_pages.drain(..).collect();
        for (page, n) in top_n(self.page_views.iter().map(|(p, n)| (p, *n))) {
            *pages.entry(page.clone()).or_default() += n;
        }
        summary.top_pages = top_n(pages);
        self.summary = Some(summary);
        self.page_views = PageCounts::new();
        self.sessions = Sessions::new();
        std::mem::take(&mut self.key_bytes)
    }
}

fn key_cost(key: &str) -> usize {
    key.len() + KEY_OVERHEAD
}

fn event_cost(e: &Event) -> usize {
    EVENT_OVERHEAD
        + e.session_id.len()
        + e.page_url.len()
        + e.referrer.as_ref().map_or(0, String::len)
        + e.user_agent.len()
        + e.properties.get().len()
}

#[derive(Default)]
struct State {
    days: BTreeMap<i64, Day>,
    /// Days that still hold distinct entries.
    detailed: std::collections::BTreeSet<i64>,
    recent: VecDeque<Arc<Event>>,
    recent_bytes: usize,
    key_bytes: usize,
    tracked: u64,
    evicted_events: u64,
    expired_days: u64,
    summarized_days: u64,
    untracked_pages: u64,
    untracked_sessions: u64,
}

impl State {
    /// Frees room for `cost` more key bytes by summarizing the oldest
    /// detailed days other than `keep`; false when that is not enough.
    fn make_room(&mut self, cost: usize, budget: usize, keep: i64) -> bool {
        while self.key_bytes + cost > budget {
            let Some(&oldest) = self.detailed.iter().find(|&&d| d != keep) else {
                return false;
            };
            self.detailed.remove(&oldest);
            if let Some(day) = self.days.get_mut(&oldest) {
                self.key_bytes -= day.summarize();
                self.summarized_days += 1;
            }
        }
        true
    }

    /// Adds a distinct entry to day `d` if it fits.
    fn add_key(&mut self, d: i64, key: &str, page: bool, budget: usize) -> bool {
        let cost = key_cost(key);
        if !self.make_room(cost, budget, d) {
            return false;
        }
        let day = self.days.entry(d).or_default();
        if page {
            day.page_views.insert(key.to_owned(), 1);
        } else {
            day.sessions.insert(key.to_owned());
        }
        day.key_bytes += cost;
        self.key_bytes += cost;
        self.detailed.insert(d);
        true
    }
}

/// Counters that show what the bounds did.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Retention {
    /// Events tracked since start.
    pub events_tracked: u64,
    /// Raw events still held.
    pub events_retained: usize,
    /// Raw events dropped (their aggregates stay).
    pub events_evicted: u64,
    /// Days dropped from the window.
    pub days_expired: u64,
    /// Days whose distinct pages and sessions were dropped for room (their
    /// counts by type, top pages and session count stay).
    pub days_summarized: u64,
    /// Page views whose page could not be told apart (no room even after
    /// summarizing every other day).
    pub untracked_page_views: u64,
    /// Events whose session could not be told apart.
    pub untracked_sessions: u64,
    /// Distinct entries held now.
    pub distinct_keys: usize,
    /// Their estimated bytes.
    pub key_bytes: usize,
}

/// The incremental analytics store.
pub struct Analytics {
    state: Mutex<State>,
    limits: AnalyticsLimits,
}

/// One page and its views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageViews {
    /// The page.
    pub page_url: String,
    /// `page_view` events for it.
    pub views: u64,
}

/// Aggregates over a date range.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    /// First day (inclusive, `YYYY-MM-DD`), or null for all.
    pub date_from: Option<String>,
    /// Last day (inclusive), or null for all.
    pub date_to: Option<String>,
    /// Events in the range.
    pub total_events: u64,
    /// Events per type, every type listed.
    pub events_by_type: BTreeMap<&'static str, u64>,
    /// Most viewed pages: views descending, then URL.
    pub top_pages: Vec<PageViews>,
    /// Distinct session ids among the events.
    pub unique_sessions: usize,
    /// Orders placed in the range.
    pub orders: u64,
    /// Their total.
    #[serde(serialize_with = "money")]
    pub revenue: Decimal,
    /// Days with data in the range.
    pub active_days: usize,
    /// False when a day in the range was summarized for room: its top pages
    /// and session count are kept, but pages beyond its top ten and
    /// sessions shared with other days can no longer be told apart.
    pub exact: bool,
    /// The newest retained events (any day), newest first.
    pub recent_events: Vec<Arc<Event>>,
    /// What the memory bounds did.
    pub retention: Retention,
}

/// Distinct sessions over several days: the largest day counts whole and
/// only the others are gathered (sessions the largest day lacks), so the
/// cost is linear in the smaller days, not in today's traffic.
fn union_size(mut days: Vec<Sessions>) -> usize {
    days.sort_by_key(|d| std::cmp::Reverse(d.len()));
    let Some((largest, rest)) = days.split_first() else {
        return 0;
    };
    let others: HashSet<&str> = rest
        .iter()
        .flat_map(|day| day.iter())
        .filter(|s| !largest.contains(*s))
        .map(String::as_str)
        .collect();
    largest.len() + others.len()
}

/// What a dashboard takes of one day under the lock: counters, and the
/// day's persistent maps (cloned in O(1), shared until either side changes).
struct DaySnapshot {
    by_type: [u64; 5],
    page_views: PageCounts,
    summary_pages: Vec<(String, u64)>,
    summary_sessions: Option<usize>,
    sessions: Sessions,
    orders: u64,
    revenue: Decimal,
}

impl Analytics {
    /// An empty store with these bounds.
    pub fn new(limits: AnalyticsLimits) -> Self {
        Self {
            state: Mutex::default(),
            limits,
        }
    }

    /// The bounds.
    pub fn limits(&self) -> AnalyticsLimits {
        self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn expire(&self, state: &mut State, now: &DateTime<Utc>) {
        let oldest = day_of(now) - i64::from(self.limits.window_days) + 1;
        while let Some(entry) = state.days.first_entry() {
            if *entry.key() >= oldest {
                break;
            }
            let (d, day) = entry.remove_entry();
            state.key_bytes -= day.key_bytes;
            state.detailed.remove(&d);
            state.expired_days += 1;
        }
    }

    /// Folds a validated event into the aggregates; returns it with its id.
    pub fn track(&self, mut event: Event) -> Arc<Event> {
        let now = Utc::now();
        let mut state = self.lock();
        self.expire(&mut state, &now);
        state.tracked += 1;
        event.id = state.tracked;
        let budget = self.limits.key_bytes;
        let d = day_of(&event.at);
        let day = state.days.entry(d).or_default();
        day.by_type[event.kind] += 1;
        if event.kind == 0 {
            match day.page_views.get_mut(&event.page_url) {
                Some(n) => *n += 1,
                None => {
                    if !state.add_key(d, &event.page_url, true, budget) {
                        state.untracked_pages += 1;
                    }
                }
            }
        }
        let known = state
            .days
            .get(&d)
            .is_some_and(|day| day.sessions.contains(&event.session_id));
        if !known && !state.add_key(d, &event.session_id, false, budget) {
            state.untracked_sessions += 1;
        }
        let event = Arc::new(event);
        state.recent_bytes += event_cost(&event);
        state.recent.push_back(event.clone());
        while state.recent.len() > self.limits.retained_events
            || state.recent_bytes > self.limits.retained_event_bytes
        {
            match state.recent.pop_front() {
                Some(old) => {
                    state.recent_bytes -= event_cost(&old);
                    state.evicted_events += 1;
                }
                None => break,
            }
        }
        event
    }

    /// Adds a placed order to its day.
    pub fn record_order(&self, at: DateTime<Utc>, total: Decimal) {
        let mut state = self.lock();
        self.expire(&mut state, &at);
        let day = state.days.entry(day_of(&at)).or_default();
        day.orders += 1;
        day.revenue += total;
    }

    fn retention(&self, state: &State) -> Retention {
        Retention {
            events_tracked: state.tracked,
            events_retained: state.recent.len(),
            events_evicted: state.evicted_events,
            days_expired: state.expired_days,
            days_summarized: state.summarized_days,
            untracked_page_views: state.untracked_pages,
            untracked_sessions: state.untracked_sessions,
            distinct_keys: state
                .days
                .values()
                .map(|d| d.page_views.len() + d.sessions.len())
                .sum(),
            key_bytes: state.key_bytes,
        }
    }

    /// Retention counters alone.
    pub fn retention_now(&self) -> Retention {
        self.retention(&self.lock())
    }

    /// Aggregates over `from..=to` (either end open).
    pub fn dashboard(&self, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Dashboard {
        self.dashboard_then(from, to, || {})
    }

    /// [`Analytics::dashboard`], calling `unlocked` once the lock is
    /// released and before the days are merged (tests check that tracking
    /// can go on meanwhile).
    fn dashboard_then(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        unlocked: impl FnOnce(),
    ) -> Dashboard {
        let to_day = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .map_or(0, |t| t.and_utc().timestamp().div_euclid(86_400))
        };
        let lo = from.map_or(i64::MIN, to_day);
        let hi = to.map_or(i64::MAX, to_day);
        // Under the lock: O(days in range) clones of counters and pointers.
        let (days, recent_events, retention) = {
            let state = self.lock();
            let days: Vec<DaySnapshot> = if lo <= hi {
                state
                    .days
                    .range(lo..=hi)
                    .map(|(_, day)| DaySnapshot {
                        by_type: day.by_type,
                        page_views: day.page_views.clone(),
                        summary_pages: day
                            .summary
                            .as_ref()
                            .map(|s| s.top_pages.clone())
                            .unwrap_or_default(),
                        summary_sessions: day.summary.as_ref().map(|s| s.sessions),
                        sessions: day.sessions.clone(),
                        orders: day.orders,
                        revenue: day.revenue,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let recent: Vec<Arc<Event>> = state.recent.iter().rev().take(10).cloned().collect();
            (days, recent, self.retention(&state))
        };
        unlocked();
        // Outside it: the merge, linear in the distinct keys of the range.
        let mut by_type = [0u64; 5];
        let mut pages: HashMap<&str, u64> = HashMap::new();
        let mut sessions = Vec::with_capacity(days.len());
        let (mut orders, mut revenue) = (0, Decimal::ZERO);
        // Sessions of summarized days cannot be told apart from others'.
        let (mut summarized, mut summarized_sessions) = (false, 0);
        for day in &days {
            for (total, n) in by_type.iter_mut().zip(day.by_type) {
                *total += n;
            }
            for (page, n) in day
                .page_views
                .iter()
                .chain(day.summary_pages.iter().map(|(p, n)| (p, n)))
            {
                *pages.entry(page).or_default() += n;
            }
            if let Some(n) = day.summary_sessions {
                summarized = true;
                summarized_sessions += n;
            }
            sessions.push(day.sessions.clone());
            orders += day.orders;
            revenue += day.revenue;
        }
        Dashboard {
            date_from: from.map(|d| d.to_string()),
            date_to: to.map(|d| d.to_string()),
            total_events: by_type.iter().sum(),
            events_by_type: EVENT_TYPES.iter().copied().zip(by_type).collect(),
            top_pages: top_n(pages)
                .into_iter()
                .map(|(page_url, views)| PageViews {
                    page_url: page_url.to_owned(),
                    views,
                })
                .collect(),
            unique_sessions: union_size(sessions) + summarized_sessions,
            exact: !summarized,
            orders,
            revenue,
            active_days: days.len(),
            recent_events,
            retention,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn page_view(session: &str, page: &str) -> EventRequest {
        crate::realworld::tests::event("page_view", session, page, None)
    }

    /// The dashboard merges outside the lock: tracking goes on while it
    /// merges (the lock is free, and an event tracked then lands in the
    /// store without changing the dashboard being built).
    #[test]
    fn a_dashboard_merges_outside_the_lock() {
        let a = Analytics::new(AnalyticsLimits::default());
        let now = Utc::now();
        for i in 0..2000 {
            let e = page_view(&format!("s{i}"), &format!("/p/{}", i % 500));
            a.track(e.validate(now, 30).unwrap());
        }
        let during = page_view("late", "/late");
        let d = a.dashboard_then(None, None, || {
            assert!(a.state.try_lock().is_ok(), "the lock is held while merging");
            a.track(during.validate(now, 30).unwrap());
        });
        assert_eq!(d.total_events, 2000);
        assert_eq!(d.unique_sessions, 2000);
        assert_eq!(d.top_pages[0].views, 4);
        let after = a.dashboard(None, None);
        assert_eq!(after.total_events, 2001);
        assert_eq!(after.unique_sessions, 2001);
    }
}

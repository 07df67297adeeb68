//! The `basic` category: its request models and the deterministic data it serves.

pub mod api;
mod data;
mod models;

pub use data::{
    csv_header, csv_row, json_stream_item, profile, user_record, users_page, UserProfile,
    UserRecord, UsersPage, USER_COUNT,
};
pub use models::{
    BenchmarkProduct, BenchmarkUser, PageParams, SearchParams, SORT_KEYS, STREAM_MAX_COUNT,
};

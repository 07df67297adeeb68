//! The `basic` category: its request models and the deterministic data it serves.

pub mod api;
mod data;
mod models;

pub use data::{
    csv_header, csv_row, json_stream_item, profile, user_record, users_page, users_page_json,
    write_user_json, UserProfile, UserRecord, UsersPage, USER_COUNT,
};
pub use models::{
    BenchmarkProduct, BenchmarkUser, PageParams, SearchParams, SORT_KEYS, STREAM_MAX_COUNT,
};

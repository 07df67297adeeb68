//! Every contract file matches the JSON Schema and loads without problems.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared-endpoints")
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(dir().join("contract.schema.json")).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn contract_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && !p.to_string_lossy().ends_with(".schema.json")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_contract_matches_the_schema_and_loads() {
    let schema = schema();
    let files = contract_files();
    assert!(!files.is_empty());
    for path in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let errors: Vec<String> = schema
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        let contract = contract::load_from(&path).unwrap();
        let stem = path.file_stem().unwrap().to_string_lossy();
        assert_eq!(contract.category, stem);
    }
}

#[test]
fn the_schema_rejects_what_it_should() {
    let schema = schema();
    let base: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("basic.json")).unwrap()).unwrap();
    let mut unknown_field = base.clone();
    unknown_field["endpoints"][0]["expect"]["stauts"] = 200.into();
    assert!(!schema.is_valid(&unknown_field));
    let mut bad_matcher = base.clone();
    bad_matcher["endpoints"][1]["expect"]["json"]["status"] = "text".into();
    assert!(!schema.is_valid(&bad_matcher));
    let mut no_scenarios = base;
    no_scenarios.as_object_mut().unwrap().remove("scenarios");
    assert!(!schema.is_valid(&no_scenarios));
}

#[test]
fn basic_contract_covers_the_issue() {
    let c = contract::load_from(&dir().join("basic.json")).unwrap();
    assert!(c.negative_cases.len() >= 15);
    let scenarios: Vec<&str> = c.scenarios.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        scenarios,
        [
            "basic_http_operations",
            "parameter_handling",
            "json_processing",
            "auto_validation_performance"
        ]
    );
    for path in [
        "/",
        "/health",
        "/json",
        "/user/{id}",
        "/users",
        "/user/{id}/profile",
        "/echo",
        "/validate/user",
        "/validate/product",
        "/search/validate",
        "/stream/json",
        "/stream/csv",
    ] {
        assert!(c.endpoints.iter().any(|e| e.path == path), "{path} missing");
    }
}

#[test]
fn contract_problems_are_found() {
    let mut c = contract::load_from(&dir().join("basic.json")).unwrap();
    c.scenarios[0].mix[0].endpoint = "nope".into();
    c.endpoints[1].name = c.endpoints[0].name.clone();
    let problems = c.problems();
    assert!(problems
        .iter()
        .any(|p| p.contains("unknown endpoint `nope`")));
    assert!(problems.iter().any(|p| p.contains("duplicate name")));
}

#[test]
fn every_stateful_category_declares_a_sound_preload() {
    for category in contract::CATEGORIES {
        let c = contract::load_in(&dir(), category).unwrap();
        assert_eq!(
            c.preload.is_some(),
            c.load.stateful,
            "{category}: a stateful category is scaled by its preload"
        );
    }
    let mut c = contract::load_in(&dir(), "background_tasks").unwrap();
    let p = c.preload.as_mut().unwrap();
    p.requests[0].endpoint = "nope".into();
    p.requests[0].weight = 0;
    p.measure.push("create_task".into());
    p.measure.push("gone".into());
    p.held.of.push("list_tasks".into());
    let problems = c.problems().join("\n");
    for expected in [
        "preload sends unknown endpoint `nope`",
        "preload weight of `nope` is 0",
        "preload measures `create_task`, a POST",
        "preload measures unknown endpoint `gone`",
        "preload counts `list_tasks`, which it does not send",
    ] {
        assert!(
            problems.contains(expected),
            "{expected} not in:\n{problems}"
        );
    }
    let mut basic = contract::load_in(&dir(), "basic").unwrap();
    basic.preload = contract::load_in(&dir(), "background_tasks")
        .unwrap()
        .preload;
    assert!(basic.problems().iter().any(|p| p.contains("not stateful")));
}

#[test]
fn preload_requests_interleave_by_weight() {
    let p = contract::Preload {
        description: String::new(),
        requests: vec![
            contract::MixEntry {
                endpoint: "a".into(),
                weight: 3,
            },
            contract::MixEntry {
                endpoint: "b".into(),
                weight: 1,
            },
        ],
        measure: vec![],
        held: contract::HeldCount {
            path: "/".into(),
            json: "total".into(),
            of: vec!["b".into()],
        },
    };
    let sent: Vec<&str> = (0..8).map(|n| p.endpoint_at(n)).collect();
    assert_eq!(sent, ["a", "a", "a", "b", "a", "a", "a", "b"]);
    // The count of each endpoint's requests, against a walk of the cycle.
    for n in 0..30 {
        for of in [
            vec!["a".to_owned()],
            vec!["b".to_owned()],
            vec!["a".into(), "b".into()],
        ] {
            let walked = (0..n)
                .filter(|&k| of.iter().any(|e| e == p.endpoint_at(k)))
                .count();
            assert_eq!(p.sent_to(&of, n), walked as u64, "{of:?} in {n}");
        }
    }
}

#[test]
fn unknown_categories_list_the_known_ones() {
    let err = contract::load_in(&dir(), "nonsense")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown category `nonsense`"), "{err}");
    assert!(err.contains("basic"), "{err}");
}

#[test]
fn the_schema_knows_multipart_requests() {
    let schema = schema();
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("basic.json")).unwrap()).unwrap();
    let request = &mut doc["endpoints"][0]["request"];
    *request = serde_json::json!({"multipart": [
        {"name": "category", "text": "docs"},
        {"name": "file", "filename": "a.txt", "generated": {"bytes": 10}}
    ]});
    assert!(schema.is_valid(&doc));
    doc["endpoints"][0]["request"]["multipart"][0]["generated"] = serde_json::json!({"bytes": 1});
    assert!(
        !schema.is_valid(&doc),
        "a part with two contents must be refused"
    );
    doc["endpoints"][0]["request"]["multipart"][0]
        .as_object_mut()
        .unwrap()
        .remove("generated");
    doc["endpoints"][0]["request"]["json"] = serde_json::json!({});
    assert!(
        !schema.is_valid(&doc),
        "multipart and json together must be refused"
    );
}

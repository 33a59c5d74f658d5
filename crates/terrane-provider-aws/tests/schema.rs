//! The provider's schemas are Terraform's: hashicorp/aws 5.100.0's, recorded
//! by `scripts/oracle-aws-schema` in `schema/hashicorp-aws.json`.

use terrane_core::Type;
use terrane_provider::schema::{differences, differences_within, terraform_json};
use terrane_provider::{Provider as _, Schema};
use terrane_provider_aws::schema::{read, RECORDED_JSON};
use terrane_provider_aws::AwsProvider;

fn recorded_json() -> serde_json::Value {
    serde_json::from_str(RECORDED_JSON).expect("the recorded schema is JSON")
}

/// Each served type is Terraform's, attribute for attribute and block for block.
#[test]
fn every_served_type_has_terraforms_schema() {
    let json = recorded_json();
    let provider = AwsProvider::new();
    let served = provider.schema();
    let mut problems = Vec::new();
    for (section, types) in [("resource_schemas", &served.resources), ("data_source_schemas", &served.data_sources)] {
        for (name, schema) in types {
            let entry = &json[section][name];
            let want = terraform_json::block(&entry["block"]).unwrap_or_else(|e| panic!("{name}: {e}"));
            problems.extend(differences(&want, &schema.schema).into_iter().map(|d| format!("{name}: {d}")));
            if Some(schema.version) != entry["version"].as_u64() {
                problems.push(format!("{name}: schema_version {} where Terraform has {}", schema.version, entry["version"]));
            }
        }
    }
    let want = terraform_json::block(&json["provider"]["block"]).expect("the provider block reads");
    problems.extend(differences(&want, &served.provider).into_iter().map(|d| format!("provider: {d}")));
    assert!(problems.is_empty(), "{} differences from hashicorp/aws:\n{}", problems.len(), problems.join("\n"));
    let recorded = read(RECORDED_JSON).expect("the recorded schema reads");
    assert_eq!(recorded.resources.keys().collect::<Vec<_>>(), served.resources.keys().collect::<Vec<_>>(), "every recorded resource type is served");
    assert_eq!(recorded.data_sources.keys().collect::<Vec<_>>(), served.data_sources.keys().collect::<Vec<_>>(), "every recorded data source is served");
}

/// What each adapter declares it acts on is named, typed, flagged and nested
/// as Terraform has it.
#[test]
fn what_each_adapter_acts_on_is_as_terraform_has_it() {
    let provider = AwsProvider::new();
    let recorded = read(RECORDED_JSON).expect("the recorded schema reads");
    let mut problems = Vec::new();
    for (name, declared) in provider.supported_resources() {
        problems.extend(differences_within(&recorded.resources[name].schema, declared).into_iter().map(|d| format!("{name}: {d}")));
    }
    for (name, declared) in provider.supported_data_sources() {
        problems.extend(differences_within(&recorded.data_sources[name].schema, declared).into_iter().map(|d| format!("data {name}: {d}")));
    }
    problems.extend(differences_within(&recorded.provider, provider.supported_provider()).into_iter().map(|d| format!("provider: {d}")));
    assert!(problems.is_empty(), "{} declarations differ from hashicorp/aws:\n{}", problems.len(), problems.join("\n"));
}

/// The comparison sees a change to any one attribute's type, optional or
/// computed flag, or a block's nesting.
#[test]
fn a_changed_type_flag_or_nesting_is_a_difference() {
    let recorded = read(RECORDED_JSON).expect("the recorded schema reads");
    let vpc = &recorded.resources["aws_vpc"].schema;
    let changed = |change: &dyn Fn(&mut Schema)| {
        let mut copy = vpc.clone();
        change(&mut copy);
        (differences(vpc, &copy), differences_within(vpc, &copy))
    };
    let cases: [(&str, &dyn Fn(&mut Schema)); 4] = [
        ("type", &|s| s.attributes.get_mut("cidr_block").expect("aws_vpc has cidr_block").ty = Type::Number),
        ("optional", &|s| s.attributes.get_mut("cidr_block").expect("aws_vpc has cidr_block").optional = false),
        ("computed", &|s| s.attributes.get_mut("enable_dns_support").expect("aws_vpc has enable_dns_support").computed = true),
        ("missing", &|s| _ = s.attributes.remove("arn")),
    ];
    for (what, change) in cases {
        let (whole, within) = changed(change);
        assert_eq!(whole.len(), 1, "{what}: {whole:?}");
        assert_eq!(within.len(), usize::from(what != "missing"), "{what}: {within:?}");
    }
    let subnet = &recorded.resources["aws_subnet"].schema;
    let mut copy = subnet.clone();
    copy.blocks.get_mut("timeouts").expect("aws_subnet has timeouts").nesting = terrane_provider::Nesting::List;
    assert_eq!(differences(subnet, &copy).len(), 1, "a block's nesting");
}

//! JSON Schema for the access types that appear on the wire.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::{CreatedVia, Role, Scope, SubscriptionStatus};

fn string_enum(values: Vec<&'static str>, description: &str) -> Schema {
    json_schema!({ "type": "string", "enum": values, "description": description })
}

impl JsonSchema for Scope {
    fn schema_name() -> Cow<'static, str> {
        "Scope".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        string_enum(Scope::ALL.iter().map(|s| s.as_str()).collect(), "A permission from the scope catalog.")
    }
}

impl JsonSchema for Role {
    fn schema_name() -> Cow<'static, str> {
        "Role".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        string_enum(Role::ALL.iter().map(|r| r.as_str()).collect(), "A member's role in an account.")
    }
}

impl JsonSchema for CreatedVia {
    fn schema_name() -> Cow<'static, str> {
        "CreatedVia".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        string_enum(vec!["dashboard", "api", "cli-device", "admin", "oauth"], "How the token was created.")
    }
}

impl JsonSchema for SubscriptionStatus {
    fn schema_name() -> Cow<'static, str> {
        "SubscriptionStatus".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        string_enum(vec!["active", "inactive"], "Whether the account's subscription is active.")
    }
}

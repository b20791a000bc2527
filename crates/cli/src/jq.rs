//! `--jq EXPR`: a jq filter over JSON output, run in-process (the jaq
//! crates; no `jq` program needed). Strings print as they are, other values
//! as JSON, one result per line, as `gh --jq` does.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;

use crate::error::CliError;

type Compiled = jaq_core::compile::Filter<jaq_core::Native<data::JustLut<Val>>>;

/// A compiled filter.
pub struct Filter {
    expression: String,
    filter: Compiled,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter").field("expression", &self.expression).finish_non_exhaustive()
    }
}

impl Filter {
    /// Parses and compiles `expression`; a mistake is a usage error.
    pub fn compile(expression: &str) -> Result<Filter, CliError> {
        let invalid = || CliError::Usage(format!("--jq: `{expression}` is not a valid jq expression"));
        let defs = jaq_core::defs().chain(jaq_std::defs()).chain(jaq_json::defs());
        let funs = jaq_core::funs().chain(jaq_std::funs()).chain(jaq_json::funs());
        let arena = Arena::default();
        let modules = Loader::new(defs).load(&arena, File { code: expression, path: () }).map_err(|_| invalid())?;
        let filter = Compiler::default().with_funs(funs).compile(modules).map_err(|_| invalid())?;
        Ok(Filter { expression: expression.to_owned(), filter })
    }

    /// The filter's results for `input`, each as the line to print.
    pub fn run(&self, input: &serde_json::Value) -> Result<Vec<String>, CliError> {
        let text = serde_json::to_vec(input).expect("JSON");
        let value = jaq_json::read::parse_single(&text)
            .map_err(|e| CliError::Usage(format!("--jq could not read the output: {e}")))?;
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        let mut lines = Vec::new();
        for result in self.filter.id.run((ctx, value)).map(unwrap_valr) {
            let value = result.map_err(|e| CliError::Client {
                message: format!("--jq `{}` failed: {e}", self.expression),
                code: "JQ_ERROR".into(),
                exit: crate::error::exit::API,
                details: None,
            })?;
            lines.push(match value {
                Val::TStr(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                other => {
                    let json = other.to_string();
                    serde_json::from_str::<serde_json::Value>(&json)
                        .map_or(json, |v| serde_json::to_string_pretty(&v).expect("JSON"))
                }
            });
        }
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_print_raw_and_other_values_as_json() {
        let input = json!({"data": {"items": [{"id": "cb_1", "n": 1}, {"id": "cb_2", "n": 2}]}});
        let ids = Filter::compile(".data.items[].id").expect("compile").run(&input).expect("run");
        assert_eq!(ids, ["cb_1", "cb_2"]);
        let count = Filter::compile(".data.items | map(.n) | add").expect("compile").run(&input).expect("run");
        assert_eq!(count, ["3"]);
        let object = Filter::compile("{first: .data.items[0].id}").expect("compile").run(&input).expect("run");
        assert_eq!(object, ["{\n  \"first\": \"cb_1\"\n}"]);
    }

    #[test]
    fn mistakes_are_reported() {
        assert!(Filter::compile(".[").expect_err("invalid").to_string().contains("not a valid jq expression"));
        let error = Filter::compile(".a.b").expect("compile").run(&json!({"a": [1]})).expect_err("runtime");
        assert!(error.to_string().contains("--jq `.a.b` failed"), "{error}");
    }
}

//! SPEC.md's schema section is generated from `dockpolicy::lang::schema`, so the document
//! cannot drift from what the checker accepts. `UPDATE_SPEC=1 cargo test --test spec_schema`
//! rewrites it.

const BEGIN: &str = "<!-- schema:begin (generated from src/lang/schema.rs) -->\n";
const END: &str = "<!-- schema:end -->";

#[test]
fn spec_schema_section_is_generated_from_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("SPEC.md");
    let spec = std::fs::read_to_string(&path).unwrap();
    let start = spec
        .find(BEGIN)
        .expect("SPEC.md has the schema begin marker")
        + BEGIN.len();
    let end = spec.find(END).expect("SPEC.md has the schema end marker");
    let generated = dockpolicy::lang::schema::markdown();
    if std::env::var_os("UPDATE_SPEC").is_some() {
        let updated = format!("{}{generated}{}", &spec[..start], &spec[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        spec[start..end],
        generated,
        "SPEC.md's schema section is stale: run `UPDATE_SPEC=1 cargo test --test spec_schema`"
    );
}

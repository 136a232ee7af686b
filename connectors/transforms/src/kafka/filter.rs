//! `Filter`: drops every record; used with a predicate (`transforms.x.predicate`), which the
//! runtime evaluates.

use aqueduct_sdk::{ConfigDef, ConnectRecord, Props, Result, Transform};

/// Kafka Connect's `org.apache.kafka.connect.transforms.Filter`.
#[derive(Debug, Default)]
pub struct Filter;

single_descriptor!(
    "Filter",
    Filter,
    "Drops all records, filtering them from subsequent transformations in the chain (used with a predicate)."
);

impl Transform for Filter {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        self.config_def().parse(props).map(|_| ())
    }
    fn apply(&mut self, _record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::Value;

    #[test]
    fn drops_every_record() {
        let mut f = (DESCRIPTOR.factory)();
        f.configure(&Props::new()).expect("no keys");
        assert_eq!(f.apply(ConnectRecord::new("t", Value::Int32(1))).expect("applies"), None);
        assert_eq!(f.apply(ConnectRecord::new("t", Value::Null)).expect("applies"), None);
    }
}

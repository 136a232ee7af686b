//! `HexConverter`: bytes (or a string's UTF-8) written to Kafka as hexadecimal text, and such
//! text read back as bytes.

use aqueduct_sdk::{
    ConfigDef, ConfigType, ConnectError, Converter, ConverterDescriptor, ConverterFactory, Importance, Props, Result,
    Schema, SchemaRef, SchemaType, Value,
};

/// The converter as a plugin declares it.
pub const CONVERTER: ConverterDescriptor = ConverterDescriptor {
    class: "com.example.aqueduct.HexConverter",
    aliases: &["HexConverter"],
    version: env!("CARGO_PKG_VERSION"),
    doc: "Bytes as hexadecimal text.",
    factory: ConverterFactory::Builtin(|| Box::<HexConverter>::default()),
};

fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        "uppercase",
        ConfigType::Boolean,
        Some("false"),
        Importance::Low,
        "Write the digits A-F in upper case.",
    )
}

#[derive(Default)]
struct HexConverter {
    uppercase: bool,
}

impl Converter for HexConverter {
    fn config_def(&self) -> ConfigDef {
        config_def()
    }

    fn configure(&mut self, props: &Props, _is_key: bool) -> Result<()> {
        self.uppercase = config_def().parse(props)?.boolean("uppercase").unwrap_or(false);
        Ok(())
    }

    fn encode(&self, topic: &str, _schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>> {
        let bytes = match value {
            Value::Null => return Ok(None),
            Value::Bytes(b) => b.as_slice(),
            Value::String(s) => s.as_bytes(),
            other => {
                return Err(ConnectError::data(format!(
                    "HexConverter for topic {topic} needs bytes or a string, got {}",
                    other.schema_type().map_or("null", |t| t.name())
                )))
            }
        };
        let hex: String =
            bytes.iter().map(|b| if self.uppercase { format!("{b:02X}") } else { format!("{b:02x}") }).collect();
        Ok(Some(hex.into_bytes()))
    }

    fn decode(&self, topic: &str, bytes: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)> {
        let schema = Some(Schema::optional(SchemaType::Bytes));
        let Some(text) = bytes else { return Ok((schema, Value::Null)) };
        let bad = || ConnectError::data(format!("record on topic {topic} is not hexadecimal text"));
        if text.len() % 2 != 0 {
            return Err(bad());
        }
        let digits = std::str::from_utf8(text).map_err(|_| bad())?;
        let decoded = (0..digits.len())
            .step_by(2)
            .map(|i| digits.get(i..i + 2).and_then(|d| u8::from_str_radix(d, 16).ok()).ok_or_else(bad))
            .collect::<Result<Vec<u8>>>()?;
        Ok((schema, Value::Bytes(decoded)))
    }

    fn class(&self) -> &'static str {
        CONVERTER.class
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::ErrorKind;

    #[test]
    fn bytes_round_trip_as_hex_text_and_bad_text_is_a_data_error() {
        let mut c = (CONVERTER.factory)();
        c.configure(&Props::from([("uppercase".to_owned(), "true".to_owned())]), false).expect("configured");
        let hex = c.encode("t", None, &Value::Bytes(vec![0, 171, 255])).expect("encodes");
        assert_eq!(hex.as_deref(), Some(&b"00ABFF"[..]));
        assert_eq!(c.decode("t", hex.as_deref()).expect("decodes").1, Value::Bytes(vec![0, 171, 255]));
        assert_eq!(c.encode("t", None, &Value::Null).expect("null"), None);
        assert_eq!(c.decode("t", Some(b"0g")).expect_err("not hex").kind(), ErrorKind::Data);
        assert_eq!(c.encode("t", None, &Value::Int32(1)).expect_err("not bytes").kind(), ErrorKind::Data);
    }
}

//! JSON objects read the way Go's `encoding/json` reads them into a struct, which is how
//! nats-server reads a client's CONNECT and INFO.
//!
//! What differs from a strict (serde-derive) reading, each checked against nats-server 2.15.1
//! and 2.9.10:
//!
//! - Keys match field names case-insensitively, with Unicode simple folding (`"Echo"`,
//!   `"AUTH_TOKEN"`, and even `"headerſ"` with a long s, are the fields they fold to).
//! - A key given twice (or in two cases) takes the last value.
//! - `null` leaves a bool, number or string field as it was; `null` as the whole document
//!   changes nothing.
//! - Strings may hold invalid UTF-8 and lone surrogate escapes; each bad sequence becomes
//!   U+FFFD.
//! - Unknown keys are skipped, whatever their value; a known key whose value has the wrong
//!   type (`"verbose":"yes"`, `"protocol":1.5`, `"jwt":5`) is an error.
//!
//! Unknown values are skipped without recursion (serde_json's `IgnoredAny`), so any nesting
//! that fits in a control line is accepted, as by Go (which stops at 10,000 levels).

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One field of the Go struct being decoded into: its JSON name (lower case) and its type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) ty: GoType,
}

impl Field {
    /// A field named `name` of type `ty`.
    pub(crate) const fn new(name: &'static str, ty: GoType) -> Self {
        Self { name, ty }
    }
}

/// The Go type of a field: it decides which JSON values the field accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GoType {
    /// `bool`.
    Bool,
    /// `string`.
    String,
    /// An integer type with this range (`int`, `int32`, `uint64`, `byte`): only integer
    /// literals in range are accepted (`1.0` and `1e2` are not).
    Int { min: i128, max: i128 },
    /// `[]string`.
    Strings,
    /// `[]byte`: a (base64) string or an array of bytes.
    Bytes,
    /// A pointer to a struct with these fields.
    Struct(&'static [Field]),
}

impl GoType {
    /// Go's `int` on a 64-bit machine.
    pub(crate) const INT: Self = Self::Int {
        min: i64::MIN as i128,
        max: i64::MAX as i128,
    };
    /// Go's `int32`.
    pub(crate) const INT32: Self = Self::Int {
        min: i32::MIN as i128,
        max: i32::MAX as i128,
    };
    /// Go's `uint64`.
    pub(crate) const UINT64: Self = Self::Int {
        min: 0,
        max: u64::MAX as i128,
    };
    /// Go's `byte`.
    pub(crate) const BYTE: Self = Self::Int { min: 0, max: 255 };
}

/// A decoded field value the caller may keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GoValue {
    /// A `bool` field's value.
    Bool(bool),
    /// A `string` field's value (invalid sequences replaced by U+FFFD).
    String(String),
    /// An integer field's value.
    Int(i128),
    /// A slice or struct value: checked, not kept.
    Checked,
}

/// Why a document was rejected (nats-server closes the connection).
pub(crate) type Error = serde_json::Error;

/// Decodes `json` into a struct with `fields`: `set(index, value)` is called for each key that
/// names a field (by its index in `fields`), in document order, unless the value is `null`.
///
/// # Errors
///
/// Malformed JSON, a document that is neither an object nor `null`, or a known field given a
/// value of the wrong type.
pub(crate) fn decode(
    json: &[u8],
    fields: &'static [Field],
    set: &mut dyn FnMut(usize, GoValue),
) -> Result<(), Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    de.deserialize_any(StructVisitor { fields, set })?;
    de.end()
}

/// Go's name folding for one character: ASCII letters and the two non-ASCII characters whose
/// simple case folding reaches one (KELVIN SIGN, LATIN SMALL LETTER LONG S) become lower case.
fn fold(c: char) -> char {
    match c {
        '\u{212A}' => 'k',
        '\u{17F}' => 's',
        c => c.to_ascii_lowercase(),
    }
}

/// The index of the field `key` names, if any.
fn field_index(fields: &[Field], key: &[u8]) -> Option<usize> {
    let key = String::from_utf8_lossy(key);
    fields
        .iter()
        .position(|field| key.chars().map(fold).eq(field.name.chars()))
}

/// `bytes` as Go turns a JSON string into a Go string: every invalid UTF-8 byte becomes U+FFFD,
/// and so does a surrogate (which serde_json hands over WTF-8 encoded, three bytes).
pub(crate) fn go_string(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(valid) => {
                out.push_str(valid);
                return out;
            }
            Err(error) => {
                let (valid, rest) = bytes.split_at(error.valid_up_to());
                out.push_str(std::str::from_utf8(valid).expect("checked valid"));
                out.push(char::REPLACEMENT_CHARACTER);
                let surrogate = matches!(rest, [0xED, 0xA0..=0xBF, 0x80..=0xBF, ..]);
                bytes = &rest[if surrogate { 3 } else { 1 }..];
            }
        }
    }
}

/// Visits a struct value: an object (fields set) or `null` (nothing changes).
struct StructVisitor<'s> {
    fields: &'static [Field],
    set: &'s mut dyn FnMut(usize, GoValue),
}

impl<'de> Visitor<'de> for StructVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(index) = map.next_key_seed(KeySeed(self.fields))? {
            match index {
                Some(index) => {
                    if let Some(value) = map.next_value_seed(ValueSeed(self.fields[index].ty))? {
                        (self.set)(index, value);
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Reads an object key (as raw bytes, so invalid UTF-8 is no error) and finds its field.
struct KeySeed(&'static [Field]);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_bytes(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<Option<usize>, E> {
        Ok(field_index(self.0, key))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(field_index(self.0, key.as_bytes()))
    }
}

/// Reads one field's value as its Go type would: `None` for `null`.
#[derive(Clone, Copy)]
struct ValueSeed(GoType);

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Option<GoValue>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<GoValue>, D::Error> {
        match self.0 {
            // Strings are read as bytes, so that invalid UTF-8 and lone surrogates pass.
            GoType::String | GoType::Bytes => d.deserialize_option(self),
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Option<GoValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            GoType::Bool => f.write_str("a boolean"),
            GoType::String => f.write_str("a string"),
            GoType::Int { .. } => f.write_str("an integer in range"),
            GoType::Strings => f.write_str("an array of strings"),
            GoType::Bytes => f.write_str("a base64 string or an array of bytes"),
            GoType::Struct(_) => f.write_str("an object"),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        match self.0 {
            GoType::String => d.deserialize_bytes(self),
            _ => d.deserialize_any(self),
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        match self.0 {
            GoType::Bool => Ok(Some(GoValue::Bool(v))),
            _ => Err(E::invalid_type(de::Unexpected::Bool(v), &self)),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.integer(i128::from(v))
            .map(Some)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.integer(i128::from(v))
            .map(Some)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // serde_json reads `-0` as a float; Go's integer parse accepts it.
        let negative_zero = v == 0.0 && v.is_sign_negative();
        match self.integer(0) {
            Some(zero) if negative_zero => Ok(Some(zero)),
            _ => Err(E::invalid_type(de::Unexpected::Float(v), &self)),
        }
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        match self.0 {
            GoType::String => Ok(Some(GoValue::String(go_string(v)))),
            GoType::Bytes => Ok(Some(GoValue::Checked)),
            _ => Err(E::invalid_type(de::Unexpected::Bytes(v), &self)),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match self.0 {
            GoType::String => Ok(Some(GoValue::String(v.to_owned()))),
            GoType::Bytes => Ok(Some(GoValue::Checked)),
            _ => Err(E::invalid_type(de::Unexpected::Str(v), &self)),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let element = match self.0 {
            GoType::Strings => GoType::String,
            GoType::Bytes => GoType::BYTE,
            _ => return Err(de::Error::invalid_type(de::Unexpected::Seq, &self)),
        };
        while seq.next_element_seed(Self(element))?.is_some() {}
        Ok(Some(GoValue::Checked))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let GoType::Struct(fields) = self.0 else {
            return Err(de::Error::invalid_type(de::Unexpected::Map, &self));
        };
        StructVisitor {
            fields,
            set: &mut |_, _| {},
        }
        .visit_map(map)?;
        Ok(Some(GoValue::Checked))
    }
}

impl ValueSeed {
    /// `n` as this integer type, if it is one and `n` is in range.
    fn integer(self, n: i128) -> Option<GoValue> {
        match self.0 {
            GoType::Int { min, max } if (min..=max).contains(&n) => Some(GoValue::Int(n)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERMS: &[Field] = &[
        Field::new("allow", GoType::Strings),
        Field::new("deny", GoType::Strings),
    ];
    const FIELDS: &[Field] = &[
        Field::new("verbose", GoType::Bool),
        Field::new("name", GoType::String),
        Field::new("protocol", GoType::INT),
        Field::new("import", GoType::Struct(PERMS)),
        Field::new("cmd", GoType::BYTE),
        Field::new("payload", GoType::Bytes),
        Field::new("nkey", GoType::String),
        Field::new("headers", GoType::Bool),
    ];

    fn fields_of(json: &str) -> Result<Vec<(&'static str, GoValue)>, Error> {
        fields_of_bytes(json.as_bytes())
    }

    fn fields_of_bytes(json: &[u8]) -> Result<Vec<(&'static str, GoValue)>, Error> {
        let mut out = Vec::new();
        decode(json, FIELDS, &mut |i, v| out.push((FIELDS[i].name, v)))?;
        Ok(out)
    }

    #[test]
    fn keys_fold_case_as_go_does() {
        let got = fields_of(r#"{"Verbose":true,"NAME":"a","n\u212Aey":"k","headerſ":true}"#);
        assert_eq!(
            got.unwrap(),
            vec![
                ("verbose", GoValue::Bool(true)),
                ("name", GoValue::String("a".into())),
                ("nkey", GoValue::String("k".into())),
                ("headers", GoValue::Bool(true)),
            ]
        );
        assert!(
            fields_of(r#"{"verbose_":true,"verbos":1}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn nulls_are_skipped_and_duplicates_all_reported_in_order() {
        let got = fields_of(r#"{"verbose":false,"verbose":null,"Verbose":true,"name":null}"#);
        assert_eq!(
            got.unwrap(),
            vec![
                ("verbose", GoValue::Bool(false)),
                ("verbose", GoValue::Bool(true))
            ]
        );
        assert!(fields_of("null").unwrap().is_empty());
        assert!(fields_of(" null ").unwrap().is_empty());
    }

    #[test]
    fn strings_keep_going_past_bad_utf8_and_lone_surrogates() {
        let got = fields_of_bytes(b"{\"name\":\"a\xffb\\ud800c\\udc00\",\"x\":\"\xfe\\ud800\"}");
        assert_eq!(
            got.unwrap(),
            vec![(
                "name",
                GoValue::String("a\u{FFFD}b\u{FFFD}c\u{FFFD}".into())
            )]
        );
        let got = fields_of(r#"{"name":"\ud83d\ude00"}"#).unwrap();
        assert_eq!(got, vec![("name", GoValue::String("😀".into()))]);
    }

    #[test]
    fn integers_only_as_integer_literals_in_range() {
        assert_eq!(
            fields_of(r#"{"protocol":-0}"#).unwrap(),
            vec![("protocol", GoValue::Int(0))]
        );
        for bad in [
            r#"{"protocol":1.0}"#,
            r#"{"protocol":1e0}"#,
            r#"{"protocol":99999999999999999999}"#,
            r#"{"protocol":"1"}"#,
            r#"{"cmd":256}"#,
            r#"{"cmd":-1}"#,
        ] {
            assert!(fields_of(bad).is_err(), "{bad}");
        }
        assert!(fields_of(r#"{"cmd":255}"#).is_ok());
    }

    #[test]
    fn wrong_types_of_known_fields_are_errors_unknown_fields_are_not() {
        for bad in [
            r#"{"verbose":"yes"}"#,
            r#"{"verbose":1}"#,
            r#"{"name":5}"#,
            r#"{"name":["a"]}"#,
            r#"{"name":{}}"#,
            r#"{"import":[]}"#,
            r#"{"import":{"allow":"a"}}"#,
            r#"{"import":{"Allow":[1]}}"#,
            r#"{"payload":[256]}"#,
            r#"{"payload":true}"#,
            "[]",
            "\"x\"",
            "5",
            "{",
            r#"{"a":1} x"#,
        ] {
            assert!(fields_of(bad).is_err(), "{bad}");
        }
        let ok = fields_of(
            r#"{"zzz":[1,{"a":"b"}],"import":{"allow":["a",null],"deny":null,"x":5},"payload":"AAE=","cmd":null}"#,
        );
        assert_eq!(
            ok.unwrap(),
            vec![("import", GoValue::Checked), ("payload", GoValue::Checked)]
        );
        assert!(fields_of(r#"{"payload":[0,255]}"#).is_ok());
        assert!(fields_of_bytes(b"{\"zzz\":\"\xff\\ud800\"}").is_ok());
    }

    #[test]
    fn go_string_replaces_each_bad_sequence() {
        assert_eq!(go_string(b"ok"), "ok");
        assert_eq!(go_string(b"\xff\xfe"), "\u{FFFD}\u{FFFD}");
        assert_eq!(go_string(b"a\xed\xa0\x80b"), "a\u{FFFD}b");
        assert_eq!(go_string(b"\xc3"), "\u{FFFD}");
    }
}

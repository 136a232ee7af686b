//! Decoder of the `pgoutput` logical replication messages (protocol version 1), as carried in
//! XLogData payloads. Begin and Commit are decoded by the replication client itself; this
//! module decodes the rest: Relation, Type, Insert, Update, Delete, Truncate, Origin, Message.

use bytes::{Buf, Bytes};

/// One column value of a tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TupleValue {
    /// SQL NULL (`n`).
    Null,
    /// An unchanged TOASTed value the server did not send (`u`).
    Unchanged,
    /// The value in text format (`t`).
    Text(Bytes),
}

/// A column of a Relation message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Part of the replica identity (key) of the table.
    pub key: bool,
    /// Column name.
    pub name: String,
    /// Type OID.
    pub type_oid: u32,
    /// Type modifier (`atttypmod`), -1 when none.
    pub type_modifier: i32,
}

/// The description of a table, sent before its first change in a session and after each
/// schema change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The table's OID.
    pub oid: u32,
    /// Schema name.
    pub namespace: String,
    /// Table name.
    pub name: String,
    /// `relreplident`: `d` default, `n` nothing, `f` full, `i` index.
    pub replica_identity: u8,
    /// The published columns, in order.
    pub columns: Vec<RelationColumn>,
}

/// A decoded pgoutput message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A table's description.
    Relation(Relation),
    /// A non-built-in type's name.
    Type {
        /// Type OID.
        oid: u32,
        /// Schema of the type.
        namespace: String,
        /// Type name.
        name: String,
    },
    /// A row was inserted.
    Insert {
        /// Table OID.
        relation: u32,
        /// The new row.
        new: Vec<TupleValue>,
    },
    /// A row was updated.
    Update {
        /// Table OID.
        relation: u32,
        /// The old key (`K`, when the key changed) or old row (`O`, replica identity full).
        old: Option<OldTuple>,
        /// The new row.
        new: Vec<TupleValue>,
    },
    /// A row was deleted.
    Delete {
        /// Table OID.
        relation: u32,
        /// The old key or row.
        old: OldTuple,
    },
    /// Tables were truncated.
    Truncate {
        /// `TRUNCATE ... CASCADE`.
        cascade: bool,
        /// `TRUNCATE ... RESTART IDENTITY`.
        restart_identity: bool,
        /// The truncated tables.
        relations: Vec<u32>,
    },
    /// The origin of the transaction (replicated from elsewhere).
    Origin,
    /// A logical decoding message (`pg_logical_emit_message`).
    Message,
    /// Begin or Commit (normally consumed by the replication client).
    Boundary,
}

/// The old image of an updated or deleted row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OldTuple {
    /// Only the replica identity columns (others null).
    Key(Vec<TupleValue>),
    /// Every column (replica identity full).
    Full(Vec<TupleValue>),
}

impl OldTuple {
    /// The column values.
    pub fn values(&self) -> &[TupleValue] {
        match self {
            OldTuple::Key(v) | OldTuple::Full(v) => v,
        }
    }
}

/// A malformed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed pgoutput message: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

type Decoded<T> = std::result::Result<T, DecodeError>;

struct Reader(Bytes);

impl Reader {
    fn need(&self, n: usize, what: &str) -> Decoded<()> {
        if self.0.remaining() < n {
            return Err(DecodeError(format!("truncated {what}")));
        }
        Ok(())
    }
    fn u8(&mut self, what: &str) -> Decoded<u8> {
        self.need(1, what)?;
        Ok(self.0.get_u8())
    }
    fn i16(&mut self, what: &str) -> Decoded<i16> {
        self.need(2, what)?;
        Ok(self.0.get_i16())
    }
    fn u32(&mut self, what: &str) -> Decoded<u32> {
        self.need(4, what)?;
        Ok(self.0.get_u32())
    }
    fn i32(&mut self, what: &str) -> Decoded<i32> {
        self.need(4, what)?;
        Ok(self.0.get_i32())
    }
    fn skip(&mut self, n: usize, what: &str) -> Decoded<()> {
        self.need(n, what)?;
        self.0.advance(n);
        Ok(())
    }
    fn cstring(&mut self, what: &str) -> Decoded<String> {
        let end = self.0.iter().position(|b| *b == 0).ok_or_else(|| DecodeError(format!("unterminated {what}")))?;
        let s = String::from_utf8_lossy(&self.0[..end]).into_owned();
        self.0.advance(end + 1);
        Ok(s)
    }
    fn bytes(&mut self, n: usize, what: &str) -> Decoded<Bytes> {
        self.need(n, what)?;
        Ok(self.0.split_to(n))
    }

    fn tuple(&mut self) -> Decoded<Vec<TupleValue>> {
        let n = self.i16("tuple column count")?;
        let mut values = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        for _ in 0..n {
            values.push(match self.u8("tuple column kind")? {
                b'n' => TupleValue::Null,
                b'u' => TupleValue::Unchanged,
                b't' | b'b' => {
                    let len = self.u32("tuple value length")?;
                    TupleValue::Text(self.bytes(len as usize, "tuple value")?)
                }
                other => return Err(DecodeError(format!("unknown tuple column kind {:?}", other as char))),
            });
        }
        Ok(values)
    }

    fn old_tuple(&mut self, tag: u8) -> Decoded<OldTuple> {
        match tag {
            b'K' => Ok(OldTuple::Key(self.tuple()?)),
            b'O' => Ok(OldTuple::Full(self.tuple()?)),
            other => Err(DecodeError(format!("expected K or O before an old tuple, got {:?}", other as char))),
        }
    }
}

/// Decodes one pgoutput message.
pub fn decode(data: Bytes) -> Decoded<Message> {
    let mut r = Reader(data);
    let tag = r.u8("message tag")?;
    Ok(match tag {
        b'R' => {
            let oid = r.u32("relation oid")?;
            let namespace = r.cstring("relation namespace")?;
            let name = r.cstring("relation name")?;
            let replica_identity = r.u8("replica identity")?;
            let n = r.i16("relation column count")?;
            let mut columns = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
            for _ in 0..n {
                let flags = r.u8("column flags")?;
                let name = r.cstring("column name")?;
                let type_oid = r.u32("column type")?;
                let type_modifier = r.i32("column type modifier")?;
                columns.push(RelationColumn { key: flags & 1 == 1, name, type_oid, type_modifier });
            }
            Message::Relation(Relation { oid, namespace, name, replica_identity, columns })
        }
        b'Y' => {
            let oid = r.u32("type oid")?;
            let namespace = r.cstring("type namespace")?;
            let name = r.cstring("type name")?;
            Message::Type { oid, namespace, name }
        }
        b'I' => {
            let relation = r.u32("insert relation")?;
            match r.u8("insert tuple tag")? {
                b'N' => Message::Insert { relation, new: r.tuple()? },
                other => return Err(DecodeError(format!("expected N in an insert, got {:?}", other as char))),
            }
        }
        b'U' => {
            let relation = r.u32("update relation")?;
            let mut tag = r.u8("update tuple tag")?;
            let old = if tag == b'K' || tag == b'O' {
                let old = r.old_tuple(tag)?;
                tag = r.u8("update new tuple tag")?;
                Some(old)
            } else {
                None
            };
            if tag != b'N' {
                return Err(DecodeError(format!("expected N in an update, got {:?}", tag as char)));
            }
            Message::Update { relation, old, new: r.tuple()? }
        }
        b'D' => {
            let relation = r.u32("delete relation")?;
            let tag = r.u8("delete tuple tag")?;
            Message::Delete { relation, old: r.old_tuple(tag)? }
        }
        b'T' => {
            let n = r.u32("truncate relation count")?;
            let options = r.u8("truncate options")?;
            let mut relations = Vec::with_capacity(n.min(1024) as usize);
            for _ in 0..n {
                relations.push(r.u32("truncated relation")?);
            }
            Message::Truncate { cascade: options & 1 != 0, restart_identity: options & 2 != 0, relations }
        }
        b'O' => {
            r.skip(8, "origin lsn")?;
            r.cstring("origin name")?;
            Message::Origin
        }
        b'M' => Message::Message,
        b'B' | b'C' => Message::Boundary,
        other => return Err(DecodeError(format!("unknown message type {:?}", other as char))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;

    fn tuple(buf: &mut Vec<u8>, values: &[Option<&str>]) {
        buf.put_i16(values.len() as i16);
        for v in values {
            match v {
                None => buf.put_u8(b'n'),
                Some("<u>") => buf.put_u8(b'u'),
                Some(s) => {
                    buf.put_u8(b't');
                    buf.put_u32(s.len() as u32);
                    buf.put_slice(s.as_bytes());
                }
            }
        }
    }

    #[test]
    fn decodes_relation_and_changes() {
        let mut rel = vec![b'R'];
        rel.put_u32(16384);
        rel.put_slice(b"public\0users\0");
        rel.put_u8(b'd');
        rel.put_i16(2);
        rel.put_u8(1);
        rel.put_slice(b"id\0");
        rel.put_u32(23);
        rel.put_i32(-1);
        rel.put_u8(0);
        rel.put_slice(b"name\0");
        rel.put_u32(25);
        rel.put_i32(-1);
        let Message::Relation(r) = decode(Bytes::from(rel)).expect("relation") else { panic!("not a relation") };
        assert_eq!(
            (r.oid, r.namespace.as_str(), r.name.as_str(), r.replica_identity),
            (16384, "public", "users", b'd')
        );
        assert!(r.columns[0].key && !r.columns[1].key);
        assert_eq!(r.columns[1].type_oid, 25);

        let mut upd = vec![b'U'];
        upd.put_u32(16384);
        upd.put_u8(b'K');
        tuple(&mut upd, &[Some("1"), None]);
        upd.put_u8(b'N');
        tuple(&mut upd, &[Some("2"), Some("<u>")]);
        let msg = decode(Bytes::from(upd)).expect("update");
        let Message::Update { relation, old: Some(OldTuple::Key(old)), new } = msg else { panic!("{msg:?}") };
        assert_eq!(relation, 16384);
        assert_eq!(old, vec![TupleValue::Text(Bytes::from_static(b"1")), TupleValue::Null]);
        assert_eq!(new[1], TupleValue::Unchanged);

        let mut trunc = vec![b'T'];
        trunc.put_u32(2);
        trunc.put_u8(3);
        trunc.put_u32(1);
        trunc.put_u32(2);
        assert_eq!(
            decode(Bytes::from(trunc)).expect("truncate"),
            Message::Truncate { cascade: true, restart_identity: true, relations: vec![1, 2] }
        );
    }

    #[test]
    fn rejects_truncated_input_without_panicking() {
        for bad in [&b"I"[..], b"I\0\0\0\x01N\0\x01t\0\0\0\x09ab", b"R\0\0\0\x01public", b"Z", b"U\0\0\0\x01X"] {
            assert!(decode(Bytes::copy_from_slice(bad)).is_err(), "{bad:?}");
        }
    }
}

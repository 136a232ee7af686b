//! The statements of a batch, in order. Insert mode keeps every row, in order. Upsert and update
//! modes apply each key's operations in order while putting many keys in one statement:
//! an operation is dropped when a later one of the same key overwrites all it wrote (a delete,
//! or a write of a superset of its columns), and the operations left are dealt into levels (the
//! n-th remaining operation of every key goes to level n), so no statement touches a row twice
//! and a key's operations run in order. Without unavailable TOAST columns each key has one
//! operation left: one level, the last image per key.

use std::collections::HashMap;

use super::config::InsertMode;
use super::ops::{Action, Op};
use super::table::{ColumnInfo, TableId};
use super::writer::{Group, Kind, RenderedRow, Step};

/// A row's identity by text: table, key columns, key values.
type TextKey<'a> = (&'a TableId, &'a [ColumnInfo], &'a [Option<String>]);

/// Per rendered row, the index of the first row writing the same row of the same table,
/// comparing the key values' text (`None` for rows not rendered).
pub fn text_keys(groups: &[Group], ops: &[Op<'_>], rows: &[Option<RenderedRow>]) -> Vec<Option<usize>> {
    let mut first: HashMap<TextKey<'_>, usize> = HashMap::new();
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let row = row.as_ref()?;
            let group = &groups[row.group];
            let key = (&ops[i].table, &group.columns[..group.key_len], &row.cells[..group.key_len]);
            Some(*first.entry(key).or_insert(i))
        })
        .collect()
}

/// Orders the rendered rows into statements; `keys` says which rows write the same row (see
/// [`text_keys`]). A truncate drops the table's earlier operations of the batch.
pub fn plan(
    mode: InsertMode,
    groups: &[Group],
    ops: &[Op<'_>],
    rows: &[Option<RenderedRow>],
    keys: &[Option<usize>],
) -> Vec<Step> {
    let mut last_truncate: HashMap<&TableId, usize> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        if matches!(op.action, Action::Truncate) {
            last_truncate.insert(&op.table, i);
        }
    }
    let live = |i: usize| last_truncate.get(&ops[i].table).is_none_or(|&t| i > t);
    let mut steps: Vec<Step> = Vec::new();
    let mut truncated: Vec<&TableId> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if matches!(op.action, Action::Truncate)
            && last_truncate.get(&op.table) == Some(&i)
            && !truncated.contains(&&op.table)
        {
            truncated.push(&op.table);
            steps.push(Step::Truncate(op.table.clone()));
        }
    }
    let live_rows = rows.iter().enumerate().filter_map(|(i, row)| row.as_ref().filter(|_| live(i)).map(|r| (i, r)));
    if mode == InsertMode::Insert {
        for (i, row) in live_rows {
            match steps.last_mut() {
                Some(Step::Rows { group, rows }) if *group == row.group => rows.push(i),
                _ => steps.push(Step::Rows { group: row.group, rows: vec![i] }),
            }
        }
        return steps;
    }
    let mut per_key: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, _) in live_rows {
        per_key.entry(keys[i].unwrap_or(i)).or_default().push(i);
    }
    // levels[n][g]: the rows of group g at level n.
    let mut levels: Vec<Vec<Vec<usize>>> = Vec::new();
    for sequence in per_key.values() {
        for (level, i) in remaining(groups, rows, sequence).into_iter().enumerate() {
            if levels.len() <= level {
                levels.push(vec![Vec::new(); groups.len()]);
            }
            if let Some(row) = &rows[i] {
                levels[level][row.group].push(i);
            }
        }
    }
    for level in levels {
        // Deletes first: a key deleted and another written at the same level do not collide.
        let order = (0..groups.len())
            .filter(|&g| groups[g].kind == Kind::Delete)
            .chain((0..groups.len()).filter(|&g| groups[g].kind == Kind::Write));
        let mut level = level;
        for g in order.collect::<Vec<_>>() {
            let mut rows = std::mem::take(&mut level[g]);
            if !rows.is_empty() {
                rows.sort_unstable();
                steps.push(Step::Rows { group: g, rows });
            }
        }
    }
    steps
}

/// One statement per row, every row in order: the fallback when the database says a statement
/// touched a row twice although [`plan`] thought the keys distinct.
pub fn one_row_per_statement(steps: &[Step]) -> Vec<Step> {
    let mut rows: Vec<(usize, usize)> = Vec::new();
    let mut out = Vec::new();
    for step in steps {
        match step {
            Step::Truncate(table) => out.push(Step::Truncate(table.clone())),
            Step::Rows { group, rows: indexes } => rows.extend(indexes.iter().map(|&i| (i, *group))),
        }
    }
    rows.sort_unstable();
    out.extend(rows.into_iter().map(|(i, group)| Step::Rows { group, rows: vec![i] }));
    out
}

/// The operations of one key (in batch order) that must run, in order: those no later
/// operation overwrites entirely.
fn remaining(groups: &[Group], rows: &[Option<RenderedRow>], sequence: &[usize]) -> Vec<usize> {
    let group = |i: usize| rows[i].as_ref().map(|r| &groups[r.group]);
    let mut kept: Vec<usize> = Vec::with_capacity(1);
    for &i in sequence.iter().rev() {
        let covered = match (kept.last().and_then(|&k| group(k)), group(i)) {
            (Some(next), Some(earlier)) => overwrites(next, earlier),
            _ => false,
        };
        if !covered {
            kept.push(i);
        }
    }
    kept.reverse();
    kept
}

/// True when an operation of `next` leaves nothing of an earlier one of `earlier` (same key).
fn overwrites(next: &Group, earlier: &Group) -> bool {
    match (next.kind, earlier.kind) {
        (Kind::Delete, _) => true,
        // A write after a delete: the row is written whole (as before TOAST placeholders
        // were known), unless some of its values are unavailable.
        (Kind::Write, Kind::Delete) => next.omitted.is_empty(),
        (Kind::Write, Kind::Write) => earlier.columns.iter().all(|c| next.columns.iter().any(|n| n.name == c.name)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::table::TableInfo;
    use super::super::types::ColumnKind;
    use super::*;

    fn group(kind: Kind, names: &[&str], omitted: &[usize]) -> Group {
        let col = |name: &&str| ColumnInfo { name: (*name).into(), type_sql: "text".into(), kind: ColumnKind::Text };
        let info = TableInfo::missing(TableId { schema: Some("public".into()), name: "t".into() });
        Group {
            table: Arc::new(info),
            columns: names.iter().map(col).collect(),
            key_len: 1,
            kind,
            omitted: omitted.to_vec(),
        }
    }

    #[test]
    fn keeps_what_a_later_operation_does_not_overwrite() {
        let full = group(Kind::Write, &["id", "a", "b"], &[]);
        let no_b = group(Kind::Write, &["id", "a"], &[2]);
        let delete = group(Kind::Delete, &["id"], &[]);
        assert!(overwrites(&full, &no_b));
        assert!(!overwrites(&no_b, &full));
        assert!(overwrites(&delete, &no_b));
        assert!(overwrites(&full, &delete));
        assert!(!overwrites(&no_b, &delete));
        let groups = [full, no_b, delete];
        let row = |group: usize| Some(RenderedRow { record: 0, group, cells: Vec::new() });
        let rows = [row(0), row(1), row(0), row(1), row(2)];
        assert_eq!(remaining(&groups, &rows, &[0, 1]), vec![0, 1]);
        assert_eq!(remaining(&groups, &rows, &[0, 1, 2]), vec![2]);
        assert_eq!(remaining(&groups, &rows, &[1, 3]), vec![3]);
        assert_eq!(remaining(&groups, &rows, &[0, 3, 4]), vec![4]);
    }
}

//! The plugin's `tracing` events, forwarded to its host's log.
//!
//! A plugin links its own copy of `tracing`, whose global dispatcher is not the host's: left
//! alone, every event a plugin's connector logs would vanish. When the host hands over its
//! logger ([`SYMBOL_SET_LOGGER`](crate::plugin::abi::SYMBOL_SET_LOGGER)), the plugin installs a
//! subscriber that encodes each event (level, target, message, fields and the plugin's own
//! spans) as a [`LogEvent`] and passes it to the host with the context of the connector or task
//! whose call is running, so the host logs it under that connector's and task's fields.
//! Events of work a plugin spawns itself (outside any call) reach the host without a context.

use std::fmt::Debug;
use std::future::Future;
use std::sync::OnceLock;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use super::host::Host;
use crate::plugin::abi::HostLogger;
use crate::plugin::protocol::LogEvent;

static LOGGER: OnceLock<HostLogger> = OnceLock::new();

tokio::task_local! {
    /// The host context of the connector or task the running call is for.
    static CURRENT: Option<Host>;
}

/// Runs `call` with `host` as the context its events are logged in.
pub(crate) async fn in_context<F: Future>(host: Option<Host>, call: F) -> F::Output {
    CURRENT.scope(host, call).await
}

/// Installs the forwarding subscriber as this plugin's global default (once; a later logger, or
/// a plugin that installed its own subscriber first, is left as it is).
pub(crate) fn install(logger: HostLogger) {
    let max_level = match logger.max_level {
        0 => LevelFilter::OFF,
        1 => LevelFilter::ERROR,
        2 => LevelFilter::WARN,
        3 => LevelFilter::INFO,
        4 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    if LOGGER.set(logger).is_err() {
        return;
    }
    let subscriber = tracing_subscriber::registry().with(Forwarder.with_filter(max_level));
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Encodes events and hands them to the host's logger.
struct Forwarder;

/// An event's or span's fields (a span's kept in its extensions).
#[derive(Default)]
struct Fields {
    message: String,
    others: Vec<(String, String)>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else {
            self.others.push((field.name().to_owned(), value));
        }
    }

    /// `name{field=value ...}`.
    fn render_span(&self, name: &str) -> String {
        let fields = self.others.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>();
        if fields.is_empty() {
            name.to_owned()
        } else {
            format!("{name}{{{}}}", fields.join(" "))
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.put(field, format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Forwarder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(fields) = span.extensions_mut().get_mut::<Fields>() {
                values.record(fields);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(logger) = LOGGER.get() else { return };
        let mut fields = Fields::default();
        event.record(&mut fields);
        let spans = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .from_root()
                    .map(|span| {
                        span.extensions()
                            .get::<Fields>()
                            .map_or_else(|| span.name().to_owned(), |f| f.render_span(span.name()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let metadata = event.metadata();
        let event = LogEvent {
            level: metadata.level().to_string(),
            target: metadata.target().to_owned(),
            message: fields.message,
            fields: fields.others,
            spans,
        };
        let Ok(bytes) = serde_json::to_vec(&event) else { return };
        let host = CURRENT.try_with(Option::clone).ok().flatten();
        super::ffi::log(logger, host.as_ref().map(|h| h.0.as_ref()), &bytes);
    }
}

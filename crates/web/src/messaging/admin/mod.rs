//! The message center's admin pages: the delivery log with one message's transitions,
//! retry and cancel, and the templates with their versions.

mod log;
mod templates;

pub(crate) use log::{cancel, message, messages, retry};
pub(crate) use templates::{save_template, template_form, templates};

pub(crate) use crate::html::{render, time, with_status};

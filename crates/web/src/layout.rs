//! What every page's layout needs: titles, the site's name, asset URLs, the footer.

use crate::assets;
use crate::state::AppState;

/// Passed to every template as `page`; `templates/base.html` reads it.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    /// This page's title, before the site's name.
    pub(crate) title: String,
    pub(crate) site_name: String,
    pub(crate) operator: String,
    pub(crate) hotline: String,
    pub(crate) icp_filing: String,
    pub(crate) css: String,
    pub(crate) icon: String,
    /// Which header section to mark as current (`home`, `personal`, `enterprise`, `departments`),
    /// or empty for none.
    pub(crate) section: &'static str,
}

impl Page {
    pub(crate) fn new(state: &AppState, title: &str) -> Self {
        Self {
            title: title.to_owned(),
            site_name: state.site.name.clone(),
            operator: state.site.operator.clone(),
            hotline: state.site.hotline.clone(),
            icp_filing: state.site.icp_filing.clone(),
            css: assets::url("app.css"),
            icon: assets::url("icon.svg"),
            section: "",
        }
    }

    /// Marks a header section as the current one.
    pub(crate) fn in_section(mut self, section: &'static str) -> Self {
        self.section = section;
        self
    }
}

//! What every page's layout needs: titles, the site's name, asset URLs, the footer.

use crate::assets;
use crate::auth::RequestContext;
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
    /// The search boxes' suggestions script.
    pub(crate) suggest_js: String,
    /// The page's own script, if any: the application forms' enhancements (address choices,
    /// the designer's live preview), or the proof-of-work challenge.
    pub(crate) forms_js: String,
    /// Which header section to mark as current (`home`, `personal`, `enterprise`, `departments`),
    /// or empty for none.
    pub(crate) section: &'static str,
    /// The signed-in person's name, or empty.
    pub(crate) viewer_name: String,
    /// Whether the signed-in account is staff or an administrator (shows the back office link).
    pub(crate) viewer_is_staff: bool,
    /// The CSRF token every form on the page carries.
    pub(crate) csrf: String,
    /// The back office's sections this viewer may open.
    pub(crate) admin_nav: Vec<(&'static str, &'static str)>,
    /// A print version: no header, navigation or footer.
    pub(crate) print: bool,
    /// The signed-in person's unread messages (the header's 消息 link).
    pub(crate) unread: i64,
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
            suggest_js: assets::url("suggest.js"),
            forms_js: String::new(),
            section: "",
            viewer_name: String::new(),
            viewer_is_staff: false,
            csrf: String::new(),
            admin_nav: Vec::new(),
            print: false,
            unread: 0,
        }
    }

    /// A page for this request: the header shows who is signed in, forms carry the CSRF token.
    pub(crate) fn with(mut self, ctx: &RequestContext) -> Self {
        if let Some(v) = &ctx.viewer {
            self.viewer_name = v.account.real_name.clone();
            self.viewer_is_staff = v.account.kind != govhall_identity::AccountKind::Person;
            self.admin_nav = crate::admin::sections(&v.access);
        }
        self.csrf = ctx.csrf.clone();
        self.unread = ctx.unread;
        self
    }

    /// Loads the proof-of-work script (a form asked to solve a challenge before sending a code).
    pub(crate) fn with_challenge_script(mut self) -> Self {
        self.forms_js = assets::url("challenge.js");
        self
    }

    /// Loads the forms' script (the address's choices, the designer's live preview).
    pub(crate) fn with_forms_script(mut self) -> Self {
        self.forms_js = assets::url("forms.js");
        self
    }

    /// Marks a header section as the current one.
    pub(crate) fn in_section(mut self, section: &'static str) -> Self {
        self.section = section;
        self
    }
}

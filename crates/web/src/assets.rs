//! Static assets, embedded in the binary and served under content-hashed names
//! (`/static/app.1a2b3c4d5e.css`), so that browsers may cache them for a year and a new
//! release is never shadowed by an old cached file.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::LazyLock;

use crate::AppError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", bytes: include_bytes!("../assets/app.css") },
    Asset { name: "icon.svg", content_type: "image/svg+xml", bytes: include_bytes!("../assets/icon.svg") },
    Asset {
        name: "suggest.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/suggest.js"),
    },
    Asset {
        name: "forms.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/forms.js"),
    },
    Asset {
        name: "challenge.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/challenge.js"),
    },
];

struct Hashed {
    /// Logical name → URL.
    urls: HashMap<&'static str, String>,
    /// Hashed file name → asset and its ETag.
    files: HashMap<String, (&'static Asset, String)>,
}

static HASHED: LazyLock<Hashed> = LazyLock::new(|| {
    let mut urls = HashMap::new();
    let mut files = HashMap::new();
    for asset in ASSETS {
        let digest = hex::encode(Sha256::digest(asset.bytes));
        let hash = &digest[..10];
        let (stem, ext) = asset.name.rsplit_once('.').unwrap_or((asset.name, ""));
        let file = format!("{stem}.{hash}.{ext}");
        urls.insert(asset.name, format!("/static/{file}"));
        files.insert(file, (asset, format!("\"{hash}\"")));
    }
    Hashed { urls, files }
});

/// The URL of a bundled asset by its logical name (`app.css`).
pub(crate) fn url(name: &str) -> String {
    HASHED.urls.get(name).cloned().unwrap_or_else(|| format!("/static/{name}"))
}

/// `GET /static/{file}`.
pub(crate) async fn serve(Path(file): Path<String>) -> Result<Response, AppError> {
    let (asset, etag) = HASHED.files.get(&file).ok_or_else(AppError::not_found)?;
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_hashed_url() {
        for asset in ASSETS {
            let u = url(asset.name);
            assert!(u.starts_with("/static/") && u != format!("/static/{}", asset.name), "{u}");
            let file = u.trim_start_matches("/static/");
            assert!(HASHED.files.contains_key(file));
        }
    }
}

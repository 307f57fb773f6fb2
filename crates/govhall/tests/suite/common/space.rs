//! Calls the space's tests make through the API with a person's bearer token: drafts with valid
//! answers, uploads, submissions, library uploads; and reading a library's files from the answer.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

/// Valid answers to the tests' form.
pub fn answers() -> Value {
    json!({"answers": {"married": "否", "start": "2026-12-01", "end": "2026-12-31", "promise": true,
        "address": {"province": "440000", "city": "440100", "county": "440106", "street": "天河路 2 号"}}})
}

pub struct Api<'a> {
    pub t: &'a super::TestApp,
    pub bearer: String,
}

impl Api<'_> {
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.t.client.request(method, self.t.url(path)).header("authorization", &self.bearer)
    }

    pub async fn json(&self, method: reqwest::Method, path: &str, body: Value) -> (StatusCode, Value) {
        let res = self.req(method, path).json(&body).send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let res = self.req(reqwest::Method::GET, path).send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Starts a draft of `code` (for `enterprise` when given) with valid answers.
    pub async fn draft(&self, code: &str, enterprise: Option<&str>) -> String {
        let (status, draft) = self
            .json(
                reqwest::Method::POST,
                "/api/v1/applications",
                json!({"item_code": code, "enterprise_id": enterprise}),
            )
            .await;
        assert!(status.is_success(), "{draft}");
        let id = draft["id"].as_str().unwrap().to_owned();
        let (status, saved) =
            self.json(reqwest::Method::POST, &format!("/api/v1/applications/{id}/answers"), answers()).await;
        assert_eq!(status, StatusCode::OK, "{saved}");
        id
    }

    pub async fn upload(&self, id: &str, slot: usize, name: &str, bytes: Vec<u8>) {
        let res = self
            .req(reqwest::Method::POST, &format!("/api/v1/applications/{id}/materials/{slot}/files?name={name}"))
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap());
    }

    pub async fn submit(&self, id: &str) -> Value {
        let (status, done) =
            self.json(reqwest::Method::POST, &format!("/api/v1/applications/{id}/submission"), Value::Null).await;
        assert!(status.is_success(), "{done}");
        done
    }

    /// Adds a file to a library through the multipart API.
    pub async fn add(
        &self,
        owner: &str,
        title: &str,
        valid_until: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> (StatusCode, Value) {
        let form = Form::new()
            .text("title", title.to_owned())
            .text("category", "")
            .text("valid_until", valid_until.to_owned())
            .part("file", Part::bytes(bytes).file_name(name.to_owned()));
        let res = self
            .req(reqwest::Method::POST, &format!("/api/v1/me/materials/{owner}/files"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

pub fn materials(libraries: &Value, owner: &str) -> Vec<Value> {
    libraries.as_array().unwrap().iter().find(|l| l["owner"] == owner).unwrap()["materials"].as_array().unwrap().clone()
}

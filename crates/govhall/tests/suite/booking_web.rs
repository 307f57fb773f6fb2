//! Appointments over HTTP: a manager sets up a hall with forms, a person books from the table,
//! sees the code and its QR code, cancels; the API for the mobile app; the desk.

use crate::common;

use common::{PASSWORD, TestApp};
use govhall_audit::Actor;
use govhall_identity::rbac::Grantee;
use govhall_identity::{Permission as P, Scope};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn a_hall_is_set_up_and_a_person_books_sees_and_cancels_on_the_web_and_in_the_api() {
    let t = TestApp::spawn().await;
    let text: String = govhall_catalog::import::GD_BUNDLED.lines().take(3).collect::<Vec<_>>().join("\n");
    govhall_catalog::import::import_gd(t.app.db(), &text, |_, _| {}).await.unwrap();
    let (_, items) = govhall_catalog::store::list(t.app.db(), &Default::default(), 10, 0).await.unwrap();
    let (code, code2) = (items[0].code.clone(), items[1].code.clone());
    let department = t.department("广东省政务服务数据管理局", "440000", None).await;
    let manager = t.staff("13600000601", department).await;
    let identity = t.app.identity();
    let system = Actor::system("test");
    let role =
        identity.save_role(&system, "hall_manager", "大厅管理", &[P::BookingManage, P::BookingCheckin]).await.unwrap();
    identity.grant(&system, role, Grantee::Account(manager), Scope::Region).await.unwrap();
    let m = t.sign_in("13600000601", PASSWORD).await;

    // Set-up through the forms; mistakes come back with the reason.
    let res = m
        .post(
            "/admin/booking/halls",
            &[("region_code", "110000"), ("name", "北京大厅"), ("address", "x"), ("opening_hours", "x")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "not the manager's region");
    let hall = [
        ("region_code", "440100"),
        ("name", "广州市政务服务中心"),
        ("address", "天河区天府路1号"),
        ("opening_hours", "工作日 9:00-17:00"),
        ("phone", "020-1"),
    ];
    assert_eq!(m.post("/admin/booking/halls", &hall).await.status(), StatusCode::SEE_OTHER);
    let page = m.get("/admin/booking").await.text().await.unwrap();
    let hall_id = page.split("<option value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let items_text = format!("{code}\n{code2}");
    let res =
        m.post("/admin/booking/services", &[("hall", &hall_id), ("name", "综合窗口"), ("items", "NO-SUCH")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("事项编码“NO-SUCH”不存在"));
    let service = [
        ("hall", hall_id.as_str()),
        ("name", "综合窗口"),
        ("items", items_text.as_str()),
        ("counters", "1号 综合窗口\n2号窗口"),
    ];
    assert_eq!(m.post("/admin/booking/services", &service).await.status(), StatusCode::SEE_OTHER);
    let before = t.get(&format!("/items/{code}/book")).await.text().await.unwrap();
    assert!(before.contains("暂未开通网上预约"), "a service without rules has nothing to offer yet");
    let services: Value = t.get(&format!("/api/v1/booking/services?item={code}")).await.json().await.unwrap();
    let service_id = services[0]["id"].as_str().unwrap().to_owned();
    let rule = |weekdays: &'static str, start: &'static str| {
        vec![
            ("service", service_id.clone()),
            ("weekdays", weekdays.to_owned()),
            ("start", start.to_owned()),
            ("end", "11:00".to_owned()),
            ("slot_minutes", "60".to_owned()),
            ("capacity", "1".to_owned()),
            ("valid_from", "2020-01-01".to_owned()),
        ]
    };
    let post_rule = async |fields: Vec<(&'static str, String)>| {
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        m.post("/admin/booking/rules", &refs).await
    };
    let res = post_rule(rule("12389", "09:00")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("1 到 7"));
    assert_eq!(post_rule(rule("1234567", "09:00")).await.status(), StatusCode::SEE_OTHER);
    let page = m.get("/admin/booking").await.text().await.unwrap();
    assert!(page.contains("1号 综合窗口、2号窗口"), "a window's name keeps its space");
    assert!(page.contains("周一、二、三、四、五、六、日 09:00-11:00，每 60 分钟 1 人"), "the rule is listed");

    // A person books from the table.
    t.person("13800000601", "370102199003071238").await;
    let p = t.sign_in("13800000601", PASSWORD).await;
    let table = p.get(&format!("/items/{code}/book")).await.text().await.unwrap();
    assert!(table.contains("广州市政务服务中心") && table.contains("余 1") && table.contains("09:00-10:00"), "{table}");
    let slot = table.split("name=\"slot\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let res = p.post(&format!("/items/{code}/book"), &[("slot", &slot), ("service", &service_id)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let booking_code = location.trim_start_matches("/account/bookings/").to_owned();
    let page = p.get(&location).await.text().await.unwrap();
    assert!(page.contains(&booking_code) && page.contains("qr.svg") && page.contains("天河区天府路1号"));
    assert!(page.contains(&items[0].name), "the voucher names the item");
    let qr = p.get(&format!("{location}/qr.svg")).await;
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");
    assert!(qr.text().await.unwrap().contains("<svg"));
    // The same slot again: full (capacity 1), said beside the table.
    t.person("13800000602", "11010519491231002X").await;
    let q = t.sign_in("13800000602", PASSWORD).await;
    let res = q.post(&format!("/items/{code}/book"), &[("slot", &slot), ("service", &service_id)]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("该时段已约满"));
    // Another person's booking is not mine to see.
    assert_eq!(q.get(&location).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(q.post(&format!("{location}/cancel"), &[]).await.status(), StatusCode::NOT_FOUND);

    // The desk sees it; check-in before its time is refused with when to come.
    let desk = m.get(&format!("/admin/booking/desk?hall={hall_id}")).await;
    assert_eq!(desk.status(), StatusCode::OK);
    let res = m.post("/admin/booking/desk/checkin", &[("hall", &hall_id), ("code", &booking_code)]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("后签到"));

    // Cancelling frees the place for the other person.
    let res = p.post(&format!("{location}/cancel"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(p.get("/account/bookings").await.text().await.unwrap().contains("已取消"));

    // The API with a bearer token.
    let token: Value = t
        .client
        .post(t.url("/api/v1/sessions"))
        .json(&json!({"login": "13800000602", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let slots: Value =
        t.get(&format!("/api/v1/booking/services/{service_id}/availability")).await.json().await.unwrap();
    assert!(slots.as_array().unwrap().iter().any(|s| s["id"] == slot.as_str() && s["left"] == 1));
    let book = |item: &str| {
        t.client
            .post(t.url("/api/v1/bookings"))
            .bearer_auth(&token)
            .json(&json!({"slot_id": slot, "item_code": item}))
            .send()
    };
    let res = book(&code).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let made: Value = res.json().await.unwrap();
    let res = book(&code2).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "slot_full");
    let mine: Value =
        t.client.get(t.url("/api/v1/me/bookings")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(mine[0]["code"], made["code"]);
    let res = t
        .client
        .post(t.url(&format!("/api/v1/bookings/{}/cancel", made["code"].as_str().unwrap().to_lowercase())))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "cancelled");
    let res = t
        .client
        .post(t.url("/api/v1/bookings"))
        .json(&json!({"slot_id": slot, "item_code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = t
        .client
        .post(t.url("/api/v1/bookings"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"slot_id\": \"not-a-uuid\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_json");
    t.stop().await;
}

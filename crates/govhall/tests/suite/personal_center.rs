//! The personal center, on SQLite and PostgreSQL: a new mobile number proved by a code and the
//! password (the old number told, guesses locked out), the address book (checked, one default,
//! another's by id answers as missing, used in a draft's delivery section), the space's home for
//! a person and an enterprise (counts equal to the rows), and the payment history.

use crate::common;

use common::applying::ApplyHall;
use common::space::Api;
use common::{APPLICANT_PHONE, CaseHall, PASSWORD, TestApp};
use govhall_audit::Actor;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const NEW_PHONE: &str = "13700000991";
const OTHER_PHONE: &str = "13700000992";

fn sms_to(t: &TestApp, phone: &str) -> Vec<String> {
    let outbox = t.app.messaging().sandbox_outbox().unwrap();
    outbox.sent_to(phone).into_iter().map(|s| s.body).collect()
}

async fn until_sms(t: &TestApp, phone: &str, n: usize) -> Vec<String> {
    for _ in 0..1000 {
        let sent = sms_to(t, phone);
        if sent.len() >= n {
            return sent;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("fewer than {n} SMS to {phone}: {:?}", sms_to(t, phone));
}

#[tokio::test]
async fn a_person_moves_to_a_new_number_proved_by_a_code_and_the_password() {
    // The other person registered a moment ago: no wait between their codes here.
    let h = CaseHall::with_settings(|s| s.messaging.code_min_interval_secs = 0).await;
    let t = &h.t;
    t.person(OTHER_PHONE, &common::test_id_number(77)).await;
    let web = t.sign_in(APPLICANT_PHONE, PASSWORD).await;

    // The same number, and a malformed one, are refused before anything is sent.
    let res = web.post("/account/phone", &[("action", "send_code"), ("new_phone", APPLICANT_PHONE)]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("新手机号码与当前号码相同"));
    let res = web.post("/account/phone", &[("action", "send_code"), ("new_phone", "1234")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A number that has an account: its holder is told, no code goes out, and the page says
    // the same as for a free number.
    let res = web.post("/account/phone", &[("action", "send_code"), ("new_phone", OTHER_PHONE)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let taken_page = res.text().await.unwrap();
    let notices = until_sms(t, OTHER_PHONE, 2).await;
    assert!(notices[1].contains("已注册账号") && !notices[1].chars().any(|c| c.is_ascii_digit()), "{notices:?}");
    let res = web
        .post(
            "/account/phone",
            &[("action", "change"), ("new_phone", OTHER_PHONE), ("code", "000000"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "no code can be right for a taken number");

    // A free number: the code arrives there.
    let res = web.post("/account/phone", &[("action", "send_code"), ("new_phone", NEW_PHONE)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let free_page = res.text().await.unwrap();
    let notice = |page: &str| page.split("role=\"status\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_eq!(notice(&taken_page), notice(&free_page), "the answer does not tell who is registered");
    let code = t.sms_code(NEW_PHONE, 1).await;

    // The wrong password is refused and audited; the code is not spent by it.
    let res = web
        .post(
            "/account/phone",
            &[("action", "change"), ("new_phone", NEW_PHONE), ("code", &code), ("password", "Wrong-pass-1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("当前密码不正确"));
    let res = web
        .post(
            "/account/phone",
            &[("action", "change"), ("new_phone", NEW_PHONE), ("code", &code), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/account?done=phone");

    // The new number signs in, the old one does not; the old number was told.
    t.sign_in(NEW_PHONE, PASSWORD).await;
    let page = t.get("/login").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(t.app.identity().find_account(APPLICANT_PHONE).await.unwrap(), None);
    assert_eq!(t.app.identity().find_account(NEW_PHONE).await.unwrap(), Some(h.applicant));
    let told = until_sms(t, APPLICANT_PHONE, 1).await;
    assert!(told.iter().any(|s| s.contains("137****0991")), "{told:?}");
    let mut conn = t.app.db().conn().await.unwrap();
    let audited: Vec<(String, String)> = govhall_db::run!(conn, |c| govhall_db::sqlx::query_as(
        "SELECT result, detail FROM audit_log WHERE action = 'account.change_phone' ORDER BY seq"
    )
    .fetch_all(&mut *c)
    .await)
    .unwrap();
    assert_eq!(audited.len(), 2, "{audited:?}");
    assert_eq!(audited[0].0, "failure");
    // The audit log names the last four digits of both numbers, nothing more.
    assert_eq!(audited[1], ("success".to_owned(), format!("尾号{} → 尾号0991", &APPLICANT_PHONE[7..])));
}

#[tokio::test]
async fn password_guesses_on_the_change_of_number_are_locked_out_like_sign_ins() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let me = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };
    let (status, _) = me.json(Method::POST, "/api/v1/me/phone/code", json!({"phone": NEW_PHONE})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let code = t.sms_code(NEW_PHONE, 1).await;
    // Guesses sent at once: each counted before it is checked.
    let guesses = (0..12).map(|i| {
        me.json(
            Method::POST,
            "/api/v1/me/phone",
            json!({"phone": NEW_PHONE, "code": code, "password": format!("Guess-{i}-x")}),
        )
    });
    let answers = futures::future::join_all(guesses).await;
    let locked =
        answers.iter().filter(|(s, b)| *s == StatusCode::TOO_MANY_REQUESTS && b["code"] == "account_locked").count();
    assert!(locked >= 12 - 5, "{answers:?}");
    // Locked: even the right password waits.
    let (status, body) = me
        .json(Method::POST, "/api/v1/me/phone", json!({"phone": NEW_PHONE, "code": code, "password": PASSWORD}))
        .await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("account_locked")), "{body}");
    assert_eq!(t.app.identity().find_account(APPLICANT_PHONE).await.unwrap(), Some(h.applicant));
}

fn address(recipient: &str, street: &str) -> Value {
    json!({"label": "家", "recipient": recipient, "phone": "13900000777", "province": "370000", "city": "370100",
           "county": "370102", "street": street})
}

#[tokio::test]
async fn the_address_book_is_checked_kept_apart_and_used_in_a_draft() {
    let a = ApplyHall::new().await;
    let t = a.t();
    t.person(OTHER_PHONE, &common::test_id_number(78)).await;
    let me = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };
    let other = Api { t, bearer: t.bearer(OTHER_PHONE).await };

    // Checked: each wrong part named by its code; markup refused.
    for (body, code) in [
        (
            json!({"recipient": "", "phone": "13900000777", "province": "370000", "city": "370100", "street": "经十路"}),
            "invalid_recipient",
        ),
        (
            json!({"recipient": "张三", "phone": "139", "province": "370000", "city": "370100", "street": "经十路"}),
            "invalid_phone",
        ),
        (
            json!({"recipient": "张三", "phone": "13900000777", "province": "370000", "city": "440100", "street": "经十路"}),
            "invalid_city",
        ),
        (
            json!({"recipient": "张三", "phone": "13900000777", "province": "370000", "city": "370100", "county": "440106", "street": "经十路"}),
            "invalid_county",
        ),
        (
            json!({"recipient": "<script>alert(1)</script>", "phone": "13900000777", "province": "370000", "city": "370100", "street": "经十路"}),
            "invalid_recipient",
        ),
    ] {
        let (status, answer) = me.json(Method::POST, "/api/v1/me/addresses", body).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{answer}");
    }

    // The first is the default; a second marked default takes it over; deleting it hands it back.
    let (status, first) = me.json(Method::POST, "/api/v1/me/addresses", address("张三", "经十路 100 号")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["is_default"], true);
    assert_eq!(first["place"], "山东省济南市历下区");
    let mut second_body = address("李四", "泉城路 1 号");
    second_body["is_default"] = json!(true);
    let (_, second) = me.json(Method::POST, "/api/v1/me/addresses", second_body).await;
    let (_, list) = me.get("/api/v1/me/addresses").await;
    let defaults: Vec<&Value> = list.as_array().unwrap().iter().filter(|a| a["is_default"] == true).collect();
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0]["id"], second["id"]);
    let second_id = second["id"].as_str().unwrap().to_owned();
    let first_id = first["id"].as_str().unwrap().to_owned();

    // Another person's address by id answers as missing, on every route.
    let path = format!("/api/v1/me/addresses/{second_id}");
    assert_eq!(other.json(Method::POST, &path, address("王五", "x 路 1 号")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(other.req(Method::DELETE, &path).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let stranger = t.sign_in(OTHER_PHONE, PASSWORD).await;
    assert_eq!(stranger.get(&format!("/account/addresses?edit={second_id}")).await.status(), StatusCode::NOT_FOUND);
    let res = stranger.post(&format!("/account/addresses/{second_id}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(other.get("/api/v1/me/addresses").await.1, json!([]));

    assert_eq!(me.req(Method::DELETE, &path).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let (_, list) = me.get("/api/v1/me/addresses").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!((list[0]["id"].as_str(), &list[0]["is_default"]), (Some(first_id.as_str()), &json!(true)));

    // On the page: added with the pickers, shown with the number masked.
    let web = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    let res = web
        .post(
            "/account/addresses",
            &[
                ("action", "save"),
                ("label", "公司"),
                ("recipient", "赵六"),
                ("phone", "13900000888"),
                ("province", "440000"),
                ("city", "440100"),
                ("county", "440106"),
                ("street", "天河路 2 号"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = web.get("/account/addresses").await.text().await.unwrap();
    assert!(page.contains("广东省广州市天河区天河路 2 号") && page.contains("139****0888"), "{page}");

    // In a draft of an item that couriers its result, the delivery section fills from the book.
    let mut content = a.hall.item.content.clone();
    content.form = Some(serde_json::from_value(common::applying::test_form()).unwrap());
    content.courier = true;
    a.publish(&content).await;
    let (draft, _) = t.app.applications().start(a.hall.applicant, &a.code, None).await.unwrap();
    let section = format!("/applications/{draft}/sections/delivery");
    let page = web.get(&section).await.text().await.unwrap();
    assert!(page.contains("从常用地址填入") && page.contains(&first_id), "{page}");
    let res = web.post(&section, &[("action", "use_address"), ("address_book", &first_id)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let w = t.app.applications().get(a.hall.applicant, draft).await.unwrap();
    assert_eq!(w.answers["delivery_method"], "快递送达");
    assert_eq!(w.answers["delivery_recipient"], "张三");
    assert_eq!(w.answers["delivery_address"]["street"], "经十路 100 号");
    // Another's address cannot be put into one's draft.
    let theirs = other.json(Method::POST, "/api/v1/me/addresses", address("王五", "纬二路 3 号")).await.1;
    let res = web.post(&section, &[("action", "use_address"), ("address_book", theirs["id"].as_str().unwrap())]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let w = t.app.applications().get(a.hall.applicant, draft).await.unwrap();
    assert_eq!(w.answers["delivery_recipient"], "张三", "nothing saved from a refused choice");

    // At most twenty, counted under the owner's row: saves at once cannot pass it together.
    let saves =
        (0..24).map(|i| me.json(Method::POST, "/api/v1/me/addresses", address("张三", &format!("经十路 {i} 号"))));
    let answers = futures::future::join_all(saves).await;
    let kept = me.get("/api/v1/me/addresses").await.1.as_array().unwrap().len();
    assert_eq!(kept, 20, "{answers:?}");
    assert!(answers.iter().any(|(s, b)| *s == StatusCode::UNPROCESSABLE_ENTITY && b["code"] == "too_many_addresses"));
}

#[tokio::test]
async fn the_space_home_counts_what_the_rows_hold_and_keeps_enterprises_apart() {
    let a = ApplyHall::new().await;
    let t = a.t();
    let identity = t.app.identity();
    let cases = t.app.cases();
    let actor = Actor::system("test");
    let enterprise = identity
        .register_enterprise(&actor, a.hall.applicant, "91350100M000100Y43", "福州测试科技有限公司", "张三")
        .await
        .unwrap();
    let submit = |key: &'static str, for_enterprise: bool| {
        let s = govhall_cases::submit::Submission {
            item_code: a.code.clone(),
            applicant: a.hall.applicant,
            enterprise: for_enterprise.then_some(enterprise),
            form: json!({"申请事由": "新办"}),
            materials: Vec::new(),
            idempotency_key: key.into(),
        };
        async move { cases.submit(s).await.unwrap() }
    };
    for i in 0..3 {
        submit(["e1", "e2", "e3"][i], true).await;
    }
    let mine = submit("p1", false).await;
    let me = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };
    let (status, project) = me
        .json(Method::POST, "/api/v1/me/projects", json!({"enterprise_id": enterprise, "name": "新建厂房项目"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, home) = me.get("/api/v1/me/home").await;
    assert_eq!(status, StatusCode::OK, "{home}");
    assert_eq!((home["counts"]["cases"].as_i64(), home["counts"]["open_cases"].as_i64()), (Some(1), Some(1)));
    assert_eq!(home["recent_cases"][0]["serial_number"], mine.serial_number.as_str());
    assert_eq!(home["projects"], json!([]));
    let (status, ehome) = me.get(&format!("/api/v1/me/home?enterprise={enterprise}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ehome["name"], "福州测试科技有限公司");
    assert_eq!(ehome["counts"]["cases"], 3);
    assert_eq!(ehome["recent_cases"].as_array().unwrap().len(), 3);
    assert_eq!(ehome["projects"][0]["id"], project["id"]);
    assert_eq!(ehome["counts"]["upcoming_bookings"], 0);

    // The page shows the same, and the switch between the person and the enterprise.
    let web = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    let page = web.get(&format!("/account/home?enterprise={enterprise}")).await.text().await.unwrap();
    assert!(page.contains("企业空间：福州测试科技有限公司") && page.contains("新建厂房项目"), "{page}");
    assert!(page.contains("href=\"/account/home\""));

    // Someone else (not a member) sees neither the enterprise's home nor its payments.
    t.person(OTHER_PHONE, &common::test_id_number(79)).await;
    let other = Api { t, bearer: t.bearer(OTHER_PHONE).await };
    assert_eq!(other.get(&format!("/api/v1/me/home?enterprise={enterprise}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(other.get(&format!("/api/v1/me/payment-orders?enterprise={enterprise}")).await.0, StatusCode::NOT_FOUND);
    let (status, theirs) = other.get("/api/v1/me/home").await;
    assert_eq!((status, theirs["counts"]["cases"].as_i64()), (StatusCode::OK, Some(0)));
    let stranger = t.sign_in(OTHER_PHONE, PASSWORD).await;
    assert_eq!(stranger.get(&format!("/account/home?enterprise={enterprise}")).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_payment_history_lists_a_persons_and_an_enterprises_orders_apart() {
    let a = common::paying::fee_hall().await;
    let t = a.t();
    let (case, _) = common::paying::submit(&a, "history-1", "2").await;
    let order = common::paying::order_of(&a, case, 1).await;
    let me = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };
    let (status, history) = me.get("/api/v1/me/payment-orders").await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history["orders"].as_array().unwrap().len(), 1);
    assert_eq!(history["orders"][0]["notice_number"], order.notice_number.as_str());
    assert_eq!(history["more"], false);
    let web = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    let page = web.get("/account/payments").await.text().await.unwrap();
    assert!(page.contains(&order.notice_number) && page.contains("去缴费"), "{page}");

    // Nobody else sees it.
    t.person(OTHER_PHONE, &common::test_id_number(80)).await;
    let other = Api { t, bearer: t.bearer(OTHER_PHONE).await };
    assert_eq!(other.get("/api/v1/me/payment-orders").await.1["orders"], json!([]));
}

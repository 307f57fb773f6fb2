//! How the applicant receives the result (送达方式, design section 3.4): an item whose guide
//! says results can be couriered adds this section to its form, so that the choice and the
//! address are answers like any other — saved with the draft, checked on the server, with the
//! division picker, in the printout and the case's form. Logistics reads them by these keys
//! when staff send the result.

use super::{Field, FieldKind, FormSchema, Section, ShowIf};

/// The section's key.
pub const SECTION: &str = "delivery";
/// The choice between [`PICKUP`] and [`COURIER`].
pub const METHOD: &str = "delivery_method";
/// Collect the result at the hall's window.
pub const PICKUP: &str = "窗口领取";
/// Have the result couriered.
pub const COURIER: &str = "快递送达";
/// Who receives the parcel.
pub const RECIPIENT: &str = "delivery_recipient";
/// The recipient's mobile number.
pub const PHONE: &str = "delivery_phone";
/// Where to (division codes and street).
pub const ADDRESS: &str = "delivery_address";
/// How paper materials reach the department: [`HAND_IN`] or [`PICK_UP`] (asked with the courier).
pub const MATERIALS: &str = "materials_method";
/// The applicant brings them (or has none to send).
pub const HAND_IN: &str = "自行递交";
/// A courier picks them up at the delivery address.
pub const PICK_UP: &str = "快递上门取件";

/// The section.
pub fn section() -> Section {
    let when_courier = || Some(ShowIf { field: METHOD.into(), equals: vec![COURIER.into()] });
    Section {
        key: SECTION.into(),
        title: "结果送达方式".into(),
        fields: vec![
            Field {
                key: METHOD.into(),
                label: "领取办理结果的方式".into(),
                kind: FieldKind::Choice,
                required: true,
                help: "选择快递送达的，办结后由工作人员寄出，寄出和签收时会发短信告知；可在办件详情中查看物流".into(),
                options: vec![PICKUP.into(), COURIER.into()],
                ..Field::default()
            },
            Field {
                key: RECIPIENT.into(),
                label: "收件人".into(),
                kind: FieldKind::Text,
                required: true,
                max: Some(30),
                show_if: when_courier(),
                ..Field::default()
            },
            Field {
                key: PHONE.into(),
                label: "收件人手机号码".into(),
                kind: FieldKind::Mobile,
                required: true,
                help: "快递员派送时联系此号码，寄出和签收时也会发短信到此号码".into(),
                show_if: when_courier(),
                ..Field::default()
            },
            Field {
                key: ADDRESS.into(),
                label: "收件地址".into(),
                kind: FieldKind::Address,
                required: true,
                show_if: when_courier(),
                ..Field::default()
            },
            Field {
                key: MATERIALS.into(),
                label: "纸质材料（需要提交原件时）".into(),
                kind: FieldKind::Choice,
                help: "选择快递上门取件的，提交后可在办件详情中预约，快递员到上面的地址取件，送到办理部门".into(),
                options: vec![HAND_IN.into(), PICK_UP.into()],
                show_if: when_courier(),
                ..Field::default()
            },
        ],
    }
}

/// Adds the section to `form` unless its own already asks (an edited form that kept it).
pub fn add_to(form: &mut FormSchema) {
    if form.field(METHOD).is_none() && form.section(SECTION).is_none() {
        form.sections.push(section());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_passes_the_forms_own_check_and_is_added_once() {
        let mut form = FormSchema::standard();
        add_to(&mut form);
        add_to(&mut form);
        assert_eq!(form.sections.iter().filter(|s| s.key == SECTION).count(), 1);
        assert!(form.check().is_ok(), "{:?}", form.check());
    }
}

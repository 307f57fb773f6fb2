//! The kind of a material: the catalogue's material name, normalised so that the same document
//! asked for by different items matches (居民身份证 / 身份证复印件 / 申请人身份证明 are all
//! 身份证明). Known documents are recognised by their key words, first rule first; a name no rule
//! knows keeps its own words without the qualifiers that do not change the document (复印件,
//! 原件, 申请人, brackets …), so that two items asking for “《律师执业证》复印件” and “律师执业证”
//! still match.

/// Someone else's document: a name with one of these is not the applicant's own.
const OTHERS: [&str; 12] =
    ["监护人", "代理人", "受托人", "委托人", "配偶", "子女", "父母", "职工", "军人", "法定代表人", "负责人", "外国"];

/// Known documents: the kind, and the words that name it (any one).
const RULES: [(&str, &[&str]); 20] = [
    ("营业执照", &["营业执照"]),
    ("事业单位法人证书", &["事业单位法人证书"]),
    ("社会团体法人登记证书", &["社会团体法人登记证书"]),
    ("居民户口簿", &["户口簿", "户口本"]),
    ("结婚证", &["结婚证"]),
    ("离婚证", &["离婚证"]),
    ("出生医学证明", &["出生医学证明", "出生证"]),
    ("证件照", &["免冠", "证件照", "相片", "照片"]),
    ("授权委托书", &["授权委托书", "委托书"]),
    ("护照", &["护照"]),
    ("往来港澳通行证", &["往来港澳通行证"]),
    ("居住证", &["居住证"]),
    ("社会保险缴费证明", &["社会保险", "社保"]),
    ("劳动合同", &["劳动合同"]),
    ("机动车驾驶证", &["驾驶证"]),
    ("医师资格证书", &["医师资格证书"]),
    ("医师执业证书", &["医师执业证书"]),
    ("学历证书", &["学历证书", "毕业证"]),
    ("不动产权证书", &["不动产权", "房产证", "房屋所有权证"]),
    ("身份证明", &["身份证", "身份证明", "身份证件"]),
];

/// Qualifiers that do not change which document it is.
const QUALIFIERS: [&str; 12] =
    ["复印件", "原件", "扫描件", "副本", "正本", "电子版", "申请人", "本人", "有效的", "有效", "文件", "材料"];

/// The kind of the material named `name`.
pub fn of(name: &str) -> String {
    let name = name.trim();
    let others = OTHERS.iter().any(|o| name.contains(o));
    for (kind, words) in RULES {
        // A document of someone else (监护人身份证明) is not the applicant's own; the rules for
        // documents of a household or an enterprise (户口簿, 营业执照) still hold.
        if others && kind == "身份证明" {
            continue;
        }
        if words.iter().any(|w| name.contains(w)) {
            return kind.to_owned();
        }
    }
    let mut plain = String::with_capacity(name.len());
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '（' | '(' | '[' | '【' => depth += 1,
            '）' | ')' | ']' | '】' => depth = depth.saturating_sub(1),
            '《' | '》' | '“' | '”' | '"' | '；' | ';' | '。' | '，' | ',' | '、' | ' ' | '\u{3000}' => {}
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    for q in QUALIFIERS {
        plain = plain.replace(q, "");
    }
    let plain = plain.trim_end_matches(['的', '及', '或']).to_owned();
    if plain.is_empty() { name.to_owned() } else { plain }
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn names_of_one_document_match() {
        for name in ["居民身份证", "身份证复印件", "申请人身份证明", "申请人有效身份证件", "身份证"]
        {
            assert_eq!(of(name), "身份证明", "{name}");
        }
        for name in ["营业执照", "营业执照副本复印件", "企业营业执照或法人证书", "营业执照等申请人身份证明文件"]
        {
            assert_eq!(of(name), "营业执照", "{name}");
        }
        assert_eq!(of("居民户口簿"), of("户口本复印件"));
        assert_eq!(of("白底正面免冠彩色本人单人半身证件照"), of("6个月内二寸免冠正面半身照片"));
    }

    #[test]
    fn someone_elses_document_is_another_kind() {
        assert_ne!(of("监护人身份证明"), of("居民身份证"));
        assert_ne!(of("工伤职工身份证"), of("身份证复印件"));
        assert_ne!(of("军人身份证明"), of("身份证明"));
    }

    #[test]
    fn other_names_keep_their_words_without_qualifiers() {
        assert_eq!(of("《律师执业证》复印件"), "律师执业证");
        assert_eq!(of("律师执业证"), "律师执业证");
        assert_eq!(of("劳动能力鉴定申请表（新开展的）"), "劳动能力鉴定申请表");
        assert_ne!(of("立案申请表"), of("航道行政许可申请书"));
        assert_eq!(of("（）"), "（）");
    }
}

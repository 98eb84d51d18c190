-- 电子证照库: licences issued to enterprises and certificates held by people. Owned by role gg_licences.
CREATE TABLE enterprise_licence (
    licence_no  text PRIMARY KEY,            -- 证照编号; a 营业执照's is the credit code
    credit_code text NOT NULL,               -- GB 32100 code of the holder
    kind        text NOT NULL,               -- 营业执照 (one per enterprise) | 食品经营许可证 | 建筑业企业资质证书 ...
    name        text NOT NULL,               -- the enterprise name on the licence
    issued_on   date NOT NULL,               -- the current version's issue date (after renewals)
    valid_until date,                        -- NULL: long-term (长期)
    authority   text NOT NULL,               -- 发证机关
    status      text NOT NULL CHECK (status IN ('有效', '注销', '吊销'))
);
CREATE INDEX enterprise_licence_code_idx ON enterprise_licence (credit_code);

CREATE TABLE person_certificate (
    certificate_no text PRIMARY KEY,         -- 证书编号 (a driving licence's 档案编号)
    holder_id      text NOT NULL,            -- GB 11643 resident id of the holder
    kind           text NOT NULL,            -- 机动车驾驶证 | 教师资格证 | 学位证书 ...
    name           text NOT NULL,            -- the holder's name as on the certificate
    issued_on      date NOT NULL,
    valid_until    date,                     -- NULL: long-term
    authority      text NOT NULL,            -- 发证机关
    status         text NOT NULL CHECK (status IN ('有效', '过期', '注销'))  -- 过期: valid_until has passed
);
CREATE INDEX person_certificate_holder_idx ON person_certificate (holder_id);

-- 公安人口基础库: the population register. Owned by role gg_public_security.
CREATE TABLE household (
    number        text PRIMARY KEY,          -- 户号: district code (6) + 9 digits
    district      text NOT NULL,             -- 6-digit area code of registration
    address       text NOT NULL,
    kind          text NOT NULL,             -- 家庭户 | 集体户
    head_id       text NOT NULL,
    registered_on date NOT NULL
);

CREATE TABLE person (
    id                 text PRIMARY KEY,     -- GB 11643 resident identity number
    name               text NOT NULL,
    gender             text NOT NULL,        -- GB/T 2261.1: 1 male, 2 female
    birth_date         date NOT NULL,
    ethnicity          text NOT NULL,        -- 汉族, 畲族, 回族 ...
    phone              text,
    household_no       text REFERENCES household (number),  -- NULL: hukou held elsewhere
    hukou_district     text NOT NULL,        -- area code of the hukou (outside Xiamen for migrants)
    hukou_address      text NOT NULL,
    residence_district text,                 -- where the person lives now
    residence_address  text,
    status             text NOT NULL         -- 正常 | 迁出 | 死亡
);
CREATE INDEX person_household_idx ON person (household_no);

CREATE TABLE household_member (
    household_no text NOT NULL REFERENCES household (number),
    person_id    text NOT NULL REFERENCES person (id),
    relation     text NOT NULL,              -- relation to the head: 户主 配偶 子 女 父亲 母亲 孙子 孙女 其他
    seq          int  NOT NULL,              -- order on the household register page
    PRIMARY KEY (household_no, person_id)
);

CREATE TABLE guardianship (
    child_id    text NOT NULL REFERENCES person (id),
    guardian_id text NOT NULL REFERENCES person (id),
    relation    text NOT NULL,               -- 父亲 | 母亲 | 其他监护人
    PRIMARY KEY (child_id, guardian_id)
);
CREATE INDEX guardianship_guardian_idx ON guardianship (guardian_id);

CREATE TABLE residence_permit (              -- 居住证, for residents without local hukou
    person_id   text PRIMARY KEY REFERENCES person (id),
    permit_no   text NOT NULL UNIQUE,        -- district code + 12 digits
    district    text NOT NULL,
    address     text NOT NULL,
    issued_on   date NOT NULL,
    valid_until date NOT NULL,
    status      text NOT NULL                -- 有效 | 过期
);

CREATE TABLE portrait (                      -- reference to the photo store, never the image
    person_id   text PRIMARY KEY REFERENCES person (id),
    ref         text NOT NULL,
    captured_on date NOT NULL
);

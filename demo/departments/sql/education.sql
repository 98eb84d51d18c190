-- 教育局: schools, 学籍 and 入学报名. Owned by role gg_education.
CREATE TABLE school (
    code     text PRIMARY KEY,               -- 10-digit school identification code, 3502xx prefix
    name     text NOT NULL,
    district text NOT NULL,                  -- Xiamen district code
    level    text NOT NULL,                  -- PRIMARY | JUNIOR
    address  text NOT NULL,
    capacity int  NOT NULL
);

CREATE TABLE student_status (                -- 学籍
    person_id      text PRIMARY KEY,
    student_no     text NOT NULL UNIQUE,     -- G + resident id
    school_code    text NOT NULL REFERENCES school (code),
    grade          int  NOT NULL,            -- 1..9
    class_no       int  NOT NULL,
    enrolled_month text NOT NULL,            -- YYYYMM
    status         text NOT NULL,            -- 在读 | 休学 | 转出
    boarding       boolean NOT NULL,
    enrol_mode     text NOT NULL,            -- 就近入学 | 积分入学 | 其他
    migrant_child  boolean NOT NULL          -- 随迁子女
);

CREATE TABLE enrollment_application (        -- 入学报名
    application_no text PRIMARY KEY,         -- year + 8 digits
    person_id      text NOT NULL,
    year           int  NOT NULL,
    stage          text NOT NULL,            -- 小学一年级 | 初中一年级
    school_code    text NOT NULL REFERENCES school (code),
    district       text NOT NULL,
    guardian_id    text NOT NULL,
    submitted_at   timestamptz NOT NULL,
    status         text NOT NULL             -- 已提交 | 审核中 | 已录取 | 未录取 | 重复报名
);
CREATE INDEX enrollment_application_person_idx ON enrollment_application (person_id);

// @generated automatically by Diesel CLI.

diesel::table! {
    api_keys (id) {
        id -> Int8,
        name -> Text,
        contact -> Text,
        prefix -> Text,
        secret_hash -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Text,
        calls -> Int8,
        numbers -> Int8,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_checkpoints (id) {
        id -> Int8,
        seq -> Int8,
        hash -> Text,
        signed_at -> Timestamp,
        key_id -> Text,
        signature -> Text,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Int4,
        seq -> Int8,
        hash -> Text,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> Int8,
        at -> Timestamp,
        actor_id -> Nullable<Int8>,
        actor -> Text,
        ip -> Text,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        summary -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    cert_reviews (id) {
        id -> Int8,
        certificate_id -> Int8,
        year -> Int4,
        in_post -> Nullable<Bool>,
        violation -> Nullable<Bool>,
        first_opinion -> Text,
        first_note -> Text,
        first_by -> Text,
        first_at -> Nullable<Timestamp>,
        result -> Text,
        findings -> Text,
        override_reason -> Text,
        decided_by -> Text,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    cert_serials (region, year) {
        region -> Text,
        year -> Int4,
        last -> Int8,
    }
}

diesel::table! {
    certificate_events (id) {
        id -> Int8,
        certificate_id -> Int8,
        at -> Timestamp,
        action -> Text,
        from_state -> Text,
        to_state -> Text,
        reason -> Text,
        basis -> Text,
        actor -> Text,
    }
}

diesel::table! {
    certificates (id) {
        id -> Int8,
        number -> Text,
        officer_id -> Int8,
        unit_id -> Int8,
        category -> Text,
        region -> Text,
        issuer -> Text,
        issued_on -> Nullable<Date>,
        valid_until -> Nullable<Date>,
        state -> Text,
        source -> Text,
        card_generation -> Int4,
        batch_id -> Nullable<Int8>,
        replaces_id -> Nullable<Int8>,
        replaced_by_id -> Nullable<Int8>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    exam_answers (attempt_id, position) {
        attempt_id -> Int8,
        position -> Int4,
        answer -> Text,
        seq -> Int8,
        saved_at -> Timestamp,
    }
}

diesel::table! {
    exam_attempt_events (id) {
        id -> Int8,
        candidate_id -> Int8,
        at -> Timestamp,
        kind -> Text,
        ip -> Text,
        device -> Text,
        detail -> Text,
    }
}

diesel::table! {
    exam_attempts (id) {
        id -> Int8,
        candidate_id -> Int8,
        started_at -> Timestamp,
        deadline -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        closed_by -> Nullable<Text>,
        score -> Nullable<Float8>,
        passed -> Nullable<Bool>,
        start_audited -> Bool,
    }
}

diesel::table! {
    exam_batch_cells (batch_id, section, difficulty) {
        batch_id -> Int8,
        section -> Int4,
        difficulty -> Int4,
        required -> Int4,
        version_ids -> Text,
    }
}

diesel::table! {
    exam_batches (id) {
        id -> Int8,
        code -> Text,
        title -> Text,
        blueprint -> Text,
        pass_mark -> Float8,
        total_points -> Float8,
        duration_minutes -> Int4,
        show_score -> Bool,
        seed -> Int8,
        paper_algorithm -> Int4,
        created_at -> Timestamp,
        created_by -> Text,
    }
}

diesel::table! {
    exam_candidates (id) {
        id -> Int8,
        batch_id -> Int8,
        session_id -> Int8,
        officer_id -> Int8,
        ticket_no -> Text,
        access_hash -> Text,
        paper_seed -> Int8,
        seat -> Int4,
        extra_minutes -> Int4,
        token_hash -> Nullable<Text>,
        token_issued_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        exempt_part -> Text,
    }
}

diesel::table! {
    exam_plan_candidates (plan_id, officer_id) {
        plan_id -> Int8,
        officer_id -> Int8,
        approved -> Nullable<Bool>,
        reason -> Text,
        exemption -> Text,
        recertify -> Bool,
    }
}

diesel::table! {
    exam_plans (id) {
        id -> Int8,
        unit_id -> Int8,
        title -> Text,
        categories -> Text,
        period_start -> Date,
        period_end -> Date,
        status -> Text,
        submitted_by -> Text,
        submitted_at -> Timestamp,
        decision_ref -> Text,
        decision_date -> Nullable<Date>,
        deciders -> Text,
        decision_note -> Text,
        decided_by -> Text,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    exam_sessions (id) {
        id -> Int8,
        batch_id -> Int8,
        name -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        capacity -> Int4,
        extension_minutes -> Int4,
    }
}

diesel::table! {
    import_jobs (id) {
        id -> Int8,
        user_id -> Int8,
        filename -> Text,
        data -> Bytea,
        status -> Text,
        summary -> Text,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    job_leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> Timestamp,
        last_started_at -> Nullable<Timestamp>,
        last_finished_at -> Nullable<Timestamp>,
        last_result -> Text,
        last_ok -> Bool,
        runs -> Int8,
    }
}

diesel::table! {
    login_failures (username) {
        username -> Text,
        failures -> Int4,
        locked_until -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    officer_photos (officer_id) {
        officer_id -> Int8,
        content_type -> Text,
        width -> Int4,
        height -> Int4,
        data -> Bytea,
        uploaded_at -> Timestamp,
    }
}

diesel::table! {
    officer_postings (id) {
        id -> Int8,
        officer_id -> Int8,
        unit_id -> Int8,
        post -> Text,
        started_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    officers (id) {
        id -> Int8,
        name -> Text,
        sex -> Text,
        id_number -> Text,
        birth_date -> Date,
        unit_id -> Int8,
        post -> Text,
        category -> Text,
        region -> Text,
        employment_type -> Text,
        phone -> Text,
        status -> Text,
        cert_number -> Nullable<Text>,
        has_photo -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        grade -> Text,
        cert_issuer -> Text,
        cert_valid_until -> Nullable<Date>,
    }
}

diesel::table! {
    question_versions (id) {
        id -> Int8,
        question_id -> Int8,
        version -> Int4,
        part -> Text,
        category -> Text,
        kind -> Text,
        stem -> Text,
        options -> Text,
        answer -> Text,
        difficulty -> Int4,
        law -> Text,
        article -> Text,
        quote -> Text,
        explanation -> Text,
        content_hash -> Text,
        created_at -> Timestamp,
        created_by -> Text,
        note -> Text,
    }
}

diesel::table! {
    questions (id) {
        id -> Int8,
        code -> Text,
        status -> Text,
        version -> Int4,
        source -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    rate_counts (client, window_start) {
        client -> Text,
        window_start -> Int8,
        hits -> Int8,
    }
}

diesel::table! {
    review_rounds (id) {
        id -> Int8,
        year -> Int4,
        rules -> Text,
        deadline -> Date,
        opened_by -> Text,
        opened_at -> Timestamp,
        applied_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Int8,
        token_hash -> Text,
        user_id -> Int8,
        kind -> Text,
        csrf_token -> Text,
        ip -> Text,
        user_agent -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    training_hours (officer_id, year) {
        officer_id -> Int8,
        year -> Int4,
        hours -> Float8,
        source -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    units (id) {
        id -> Int8,
        code -> Text,
        name -> Text,
        region_code -> Text,
        parent_id -> Nullable<Int8>,
        path -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        unit_id -> Nullable<Int8>,
        officer_id -> Nullable<Int8>,
        active -> Bool,
        password_changed_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    work_jobs (id) {
        id -> Int8,
        kind -> Text,
        title -> Text,
        state -> Text,
        plan -> Text,
        total -> Int8,
        done -> Int8,
        skipped -> Int8,
        result -> Text,
        actor_id -> Nullable<Int8>,
        actor_name -> Text,
        actor_ip -> Text,
        holder -> Text,
        lease_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(cert_reviews -> certificates (certificate_id));
diesel::joinable!(certificate_events -> certificates (certificate_id));
diesel::joinable!(certificates -> exam_batches (batch_id));
diesel::joinable!(certificates -> officers (officer_id));
diesel::joinable!(certificates -> units (unit_id));
diesel::joinable!(exam_answers -> exam_attempts (attempt_id));
diesel::joinable!(exam_attempt_events -> exam_candidates (candidate_id));
diesel::joinable!(exam_attempts -> exam_candidates (candidate_id));
diesel::joinable!(exam_batch_cells -> exam_batches (batch_id));
diesel::joinable!(exam_candidates -> exam_batches (batch_id));
diesel::joinable!(exam_candidates -> exam_sessions (session_id));
diesel::joinable!(exam_candidates -> officers (officer_id));
diesel::joinable!(exam_plan_candidates -> exam_plans (plan_id));
diesel::joinable!(exam_plan_candidates -> officers (officer_id));
diesel::joinable!(exam_plans -> units (unit_id));
diesel::joinable!(exam_sessions -> exam_batches (batch_id));
diesel::joinable!(import_jobs -> users (user_id));
diesel::joinable!(officer_photos -> officers (officer_id));
diesel::joinable!(officer_postings -> officers (officer_id));
diesel::joinable!(officer_postings -> units (unit_id));
diesel::joinable!(officers -> units (unit_id));
diesel::joinable!(question_versions -> questions (question_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(training_hours -> officers (officer_id));
diesel::joinable!(users -> officers (officer_id));
diesel::joinable!(users -> units (unit_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    audit_checkpoints,
    audit_head,
    audit_log,
    cert_reviews,
    cert_serials,
    certificate_events,
    certificates,
    exam_answers,
    exam_attempt_events,
    exam_attempts,
    exam_batch_cells,
    exam_batches,
    exam_candidates,
    exam_plan_candidates,
    exam_plans,
    exam_sessions,
    import_jobs,
    job_leases,
    login_failures,
    officer_photos,
    officer_postings,
    officers,
    question_versions,
    questions,
    rate_counts,
    review_rounds,
    sessions,
    training_hours,
    units,
    users,
    work_jobs,
);

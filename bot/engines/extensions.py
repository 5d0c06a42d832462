"""Stand-ins for PostgreSQL extensions the embedded server lacks (pgcrypto, uuid-ossp).

Most real PostgreSQL histories create one of them; without it no proof is possible. A stand-in
creates the same functions with the same signatures in plain SQL, so schema proof works (column
defaults, functions that call them). Their values are not the real algorithms' and a plan that
used one says so.
"""

from __future__ import annotations

from pathlib import Path

_PGCRYPTO = """
CREATE FUNCTION digest(text, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT sha256(convert_to($1, 'UTF8')) $$;
CREATE FUNCTION digest(bytea, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT sha256($1) $$;
CREATE FUNCTION hmac(text, text, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT sha256(convert_to($2 || $1, 'UTF8')) $$;
CREATE FUNCTION hmac(bytea, bytea, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT sha256($2 || $1) $$;
CREATE FUNCTION gen_salt(text) RETURNS text LANGUAGE sql VOLATILE STRICT
  AS $$ SELECT '$1$' || substr(md5(random()::text), 1, 8) $$;
CREATE FUNCTION gen_salt(text, integer) RETURNS text LANGUAGE sql VOLATILE STRICT
  AS $$ SELECT '$1$' || substr(md5(random()::text), 1, 8) $$;
CREATE FUNCTION crypt(text, text) RETURNS text LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT left($2, 11) || md5(left($2, 11) || $1) $$;
CREATE FUNCTION gen_random_bytes(integer) RETURNS bytea LANGUAGE sql VOLATILE STRICT
  AS $$ SELECT substr(decode(repeat(md5(random()::text), ($1 / 16) + 1), 'hex'), 1, $1) $$;
CREATE FUNCTION encrypt(bytea, bytea, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT $1 $$;
CREATE FUNCTION decrypt(bytea, bytea, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT $1 $$;
CREATE FUNCTION pgp_sym_encrypt(text, text) RETURNS bytea LANGUAGE sql VOLATILE STRICT
  AS $$ SELECT convert_to($1, 'UTF8') $$;
CREATE FUNCTION pgp_sym_encrypt(text, text, text) RETURNS bytea LANGUAGE sql VOLATILE STRICT
  AS $$ SELECT convert_to($1, 'UTF8') $$;
CREATE FUNCTION pgp_sym_decrypt(bytea, text) RETURNS text LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT convert_from($1, 'UTF8') $$;
CREATE FUNCTION pgp_sym_decrypt(bytea, text, text) RETURNS text LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT convert_from($1, 'UTF8') $$;
"""

_UUID_OSSP = """
CREATE FUNCTION uuid_nil() RETURNS uuid LANGUAGE sql IMMUTABLE
  AS $$ SELECT '00000000-0000-0000-0000-000000000000'::uuid $$;
CREATE FUNCTION uuid_ns_dns() RETURNS uuid LANGUAGE sql IMMUTABLE
  AS $$ SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
CREATE FUNCTION uuid_ns_url() RETURNS uuid LANGUAGE sql IMMUTABLE
  AS $$ SELECT '6ba7b811-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
CREATE FUNCTION uuid_ns_oid() RETURNS uuid LANGUAGE sql IMMUTABLE
  AS $$ SELECT '6ba7b812-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
CREATE FUNCTION uuid_ns_x500() RETURNS uuid LANGUAGE sql IMMUTABLE
  AS $$ SELECT '6ba7b814-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
CREATE FUNCTION uuid_generate_v1() RETURNS uuid LANGUAGE sql VOLATILE
  AS $$ SELECT gen_random_uuid() $$;
CREATE FUNCTION uuid_generate_v1mc() RETURNS uuid LANGUAGE sql VOLATILE
  AS $$ SELECT gen_random_uuid() $$;
CREATE FUNCTION uuid_generate_v3(namespace uuid, name text) RETURNS uuid LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT md5($1::text || $2)::uuid $$;
CREATE FUNCTION uuid_generate_v4() RETURNS uuid LANGUAGE sql VOLATILE
  AS $$ SELECT gen_random_uuid() $$;
CREATE FUNCTION uuid_generate_v5(namespace uuid, name text) RETURNS uuid LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT substr(encode(sha256(convert_to($1::text || $2, 'UTF8')), 'hex'), 1, 32)::uuid $$;
"""

# name -> (the real extension's version, its functions in SQL)
_SCRIPTS = {"pgcrypto": ("1.3", _PGCRYPTO), "uuid-ossp": ("1.1", _UUID_OSSP)}
STAND_INS = tuple(_SCRIPTS)


def install_stand_ins(share: Path) -> Path:
    """Write the stand-ins under `share`/extension; `share` goes into extension_control_path."""
    directory = share / "extension"
    directory.mkdir(parents=True, exist_ok=True)
    for name, (version, sql) in _SCRIPTS.items():
        (directory / f"{name}.control").write_text(
            f"comment = 'rollback-plan stand-in for {name}: same functions, not the real ones'\n"
            f"default_version = '{version}'\nrelocatable = true\ntrusted = true\n",
            encoding="utf-8",
        )
        (directory / f"{name}--{version}.sql").write_text(sql, encoding="utf-8")
    return share


# Roles the Supabase platform provides (policies and grants name them). Roles belong to the
# whole server, which scratch databases share: created once, quietly after that.
SUPABASE_ROLES = """DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role', 'supabase_admin',
    'supabase_auth_admin', 'supabase_storage_admin', 'dashboard_user'] LOOP
    BEGIN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END LOOP;
END $$"""

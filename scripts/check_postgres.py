"""Exit 0 if the PostgreSQL server of a postgres:// URL accepts connections, else 1 with why.

`make test` uses it to decide whether to run the PostgreSQL pass (mandatory with CI=true).
"""

import sys

import dj_database_url
import psycopg


def main(url):
    config = dj_database_url.parse(url)
    try:
        psycopg.connect(
            dbname="postgres",
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            connect_timeout=3,
        ).close()
    except psycopg.Error as exc:
        print(f"PostgreSQL at {config.get('HOST')}:{config.get('PORT')} is not reachable: {exc}".strip())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

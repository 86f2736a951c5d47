"""What every request shares: paths with encoded ids, headers, and one attempt's outcome."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import httpx

from airflow_provider_codat import __version__
from airflow_provider_codat.client._config import ClientConfig
from airflow_provider_codat.client._errors import error_for
from airflow_provider_codat.exceptions import CodatTransportError

__all__ = ["USER_AGENT", "build_path", "check_response", "client_options", "transport_error"]

USER_AGENT = f"airflow-provider-codat/{__version__}"


def build_path(template: str, **params: str) -> str:
    """Fill ``{name}`` placeholders with percent-encoded values (ids may hold ``:``, spaces, quotes)."""
    from urllib.parse import quote

    return template.format(**{k: quote(str(v), safe="") for k, v in params.items()})


def client_options(config: ClientConfig) -> dict[str, object]:
    """Keyword arguments shared by ``httpx.Client`` and ``httpx.AsyncClient``."""
    return {
        "base_url": config.base_url,
        "timeout": config.timeout,
        "headers": {
            "Authorization": config.authorization.get_secret_value(),
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        },
        "limits": httpx.Limits(
            max_connections=config.max_concurrency + 2, max_keepalive_connections=config.max_concurrency
        ),
        "follow_redirects": False,
    }


def transport_error(
    exc: httpx.HTTPError, config: ClientConfig, method: str, path: str
) -> CodatTransportError:
    """Describe a failed exchange: the base URL tried, never the key, a user name or a query string."""
    url = urlsplit(config.base_url)
    base = urlunsplit((url.scheme, url.netloc.rpartition("@")[2], url.path, "", ""))
    message = f"request to {base} failed: {type(exc).__name__}"
    if config.scheme_assumed:
        message += (
            "; https:// was assumed because the host has no scheme: write "
            f"{base.replace('https://', 'http://', 1)} for a plain-HTTP server"
        )
    return CodatTransportError(message, method=method, path=path)


def check_response(response: httpx.Response) -> httpx.Response:
    """Return ``response`` if it succeeded, else raise its typed error."""
    if response.is_success:
        return response
    raise error_for(response)

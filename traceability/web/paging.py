"""Pagination with links that keep the rest of the query string."""

from django.core.paginator import Page, Paginator


def paginate(request, items, *, per_page: int, param: str = "page", path: str = "") -> Page:
    """One page of `items` (ordered), chosen by ?<param>=; bad or too high numbers
    give the nearest page. Adds `previous_url` and `next_url` for the pager
    (relative to the current page unless `path` is given)."""
    page = Paginator(items, per_page).get_page(request.GET.get(param))

    def url(number: int) -> str:
        query = request.GET.copy()
        query[param] = str(number)
        return f"{path}?{query.urlencode()}"

    page.previous_url = url(page.previous_page_number()) if page.has_previous() else None
    page.next_url = url(page.next_page_number()) if page.has_next() else None
    return page

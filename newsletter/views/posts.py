"""A post's own page on Engage: where an email's "Read more" leads when the post has no address
on the charity's site (newsletter.content.posts.post_link): no link in an email is a dead end."""

from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from newsletter.content.posts import render_markdown
from newsletter.models import Post


@require_safe
def post_page(request, slug):
    post = get_object_or_404(
        Post.objects.select_related("topic").prefetch_related("references"),
        slug=slug,
        status=Post.Status.PUBLISHED,
    )
    is_event = post.kind == Post.Kind.EVENT and post.starts_at is not None
    context = {
        "post": post,
        "body_html": render_markdown(post.body),
        "summary_html": render_markdown(post.summary),
        "is_event": is_event,
        "ics_url": reverse("event-ics", args=[post.slug]) if is_event else "",
        "rsvp_page_url": reverse("event-rsvp", args=[post.slug]) if post.takes_answers() else "",
        "references": list(post.references.all()),
    }
    return render(request, "newsletter/post.html", context)

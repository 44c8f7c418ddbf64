"""Bringing discussions in (Disqus, WordPress, Isso, Remark42, Commento, crawled pages) and taking them out."""

"""Merchant dashboard (architecture §12): sign-in, lists, timelines, refunds, exports."""

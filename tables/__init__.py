"""Table declarations and the pure rules that change them."""

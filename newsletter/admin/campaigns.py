"""Admin for this area. (Placeholder until built.)"""

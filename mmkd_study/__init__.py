__version__ = "0.1.0"


def __getattr__(name):
    "`mmkd_study.load_run`, imported on first use so that `import mmkd_study` stays light."
    if name == "load_run":
        from mmkd_study.study.trained import load_run
        return load_run
    raise AttributeError(f"module 'mmkd_study' has no attribute {name!r}")

"""placeholder"""
from flask import Blueprint
bp = Blueprint("subsidies", __name__)

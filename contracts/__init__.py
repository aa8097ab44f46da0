"""Standard contracts (示范合同): terms as data, checked against the right they are drawn on with the registry's
rules, rent schedules, and the contract PDF each party accepts by its digest.

    terms = TermsSchema().load(json_terms)          # ContractTerms; ValidationError naming the field
    violations = check(terms, right, transferee=org)  # [] or registry / CONTRACT-* violations
    rows = rent_schedule(terms)                     # [Instalment], summing exactly to the total
    digest = contract_digest(terms, number)         # what each party accepts; goes to the ledger
    pdf = contract_pdf(terms, number=number, signatures=[...])
"""
from contracts.checks import art40, check, enforce, terms_violations
from contracts.kinds import CLAUSES, KINDS, ContractKind, standard_clauses
from contracts.render import contract_data, contract_digest, contract_html, contract_pdf, digest_payload
from contracts.schedule import Instalment, rent_schedule, schedule_total, yearly_rent
from contracts.schemas import TermsSchema
from contracts.terms import Asset, ContractTerms, InKind, Party, PaymentPlan
from contracts.text import rmb_upper

__all__ = [
    "CLAUSES", "KINDS", "Asset", "ContractKind", "ContractTerms", "InKind", "Instalment", "Party", "PaymentPlan",
    "TermsSchema", "art40", "check", "contract_data", "contract_digest", "contract_html", "contract_pdf",
    "digest_payload", "enforce", "rent_schedule", "rmb_upper", "schedule_total", "standard_clauses",
    "terms_violations", "yearly_rent",
]
